/**
 * dsl/build/langium-internals.ts reads and writes fields Langium keeps private, for incremental
 * re-parsing. This test pins each one against the installed Langium: if an upgrade renames or drops
 * a field, it fails here, saying which field and which Langium version, before the editor starts
 * building wrong trees.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AstNode,
  AstUtils,
  type CstNode,
  CstUtils,
  type Reference,
  type RootCstNode,
  URI,
} from 'langium';
import { describe, expect, it } from 'vitest';
import {
  forgetRange,
  leafOffset,
  leafRange,
  moveLeaf,
  ownAstNode,
  resolvedTarget,
  setFullText,
  setOwnAstNode,
  setRoot,
  unlinkReference,
} from '../../dsl/build/langium-internals.js';
import { isRoute } from '../../dsl/generated/ast.js';
import { createSwitchyardLspServices } from '../../dsl/lsp/module.js';

/** The installed Langium's version: node_modules/langium/package.json, found as Node finds packages. */
function langiumVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'node_modules', 'langium', 'package.json');
    if (fs.existsSync(file))
      return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

const VERSION = langiumVersion();

/** The message every failure carries: what changed, in which Langium, and which file must follow. */
const changed = (what: string): string =>
  `Langium ${VERSION} changed ${what}: dsl/build/langium-internals.ts (written for Langium 4.2) must follow, or incremental re-parsing builds wrong trees`;

const POLICY = `provider gpu {
  kind ollama
  endpoints "http://localhost:11434"
  private
}

model small {
  provider gpu
  context 8k
  capabilities chat
}

policy p {
  route chat when capability == "chat" {
    use small
  }
  otherwise reject
}
`;

async function parsed() {
  const { shared } = createSwitchyardLspServices();
  const document = shared.workspace.LangiumDocumentFactory.fromString(
    POLICY,
    URI.parse('memory:///internals.policy'),
  );
  shared.workspace.LangiumDocuments.addDocument(document);
  await shared.workspace.DocumentBuilder.build([document], { validation: false });
  const root = document.parseResult.value.$cstNode!;
  const leaves = CstUtils.flattenCst(root).toArray();
  return { document, root, leaves };
}

describe(`Langium's private parse-tree fields (installed: langium ${VERSION})`, () => {
  it('a leaf keeps its offset and range where the adapter reads and writes them', async () => {
    const { leaves } = await parsed();
    expect(leaves.length, changed('how the CST is flattened')).toBeGreaterThan(10);
    for (const leaf of leaves) {
      expect(leafOffset(leaf), changed("a leaf's offset field (_offset)")).toBe(leaf.offset);
      expect(leafRange(leaf), changed("a leaf's range field (_range)")).toBe(leaf.range);
    }
    const leaf = leaves[3]!;
    const range = { start: { line: 40, character: 2 }, end: { line: 40, character: 9 } };
    moveLeaf(leaf, 1234, range);
    expect(leaf.offset, changed("a leaf's offset field (_offset)")).toBe(1234);
    expect(leaf.end, changed("a leaf's offset field (_offset)")).toBe(1234 + leaf.length);
    expect(leaf.range, changed("a leaf's range field (_range)")).toEqual(range);
  });

  it('a composite recomputes its range after forgetRange, and knows its own AST node', async () => {
    const { document, root } = await parsed();
    const route = AstUtils.streamAst(document.parseResult.value).find(isRoute)!;
    const composite = route.$cstNode!;
    expect(ownAstNode(composite), changed("a composite's own AST node field (_astNode)")).toBe(route);
    const before = composite.range;
    const first = CstUtils.flattenCst(composite).find((l) => !l.hidden)!;
    const moved = { start: { line: 0, character: 0 }, end: first.range.end };
    moveLeaf(first, first.offset, moved);
    expect(composite.range, changed("a composite's range cache (_rangeCache)")).toBe(before);
    forgetRange(composite);
    expect(composite.range.start, changed("a composite's range cache (_rangeCache)")).toEqual(moved.start);

    const other: AstNode = { $type: 'Route' };
    setOwnAstNode(composite, other);
    expect(composite.astNode, changed("a composite's own AST node field (_astNode)")).toBe(other);

    const stranger = CstUtils.flattenCst(root).toArray()[0]! as CstNode;
    setRoot(stranger, composite);
    expect(stranger.root, changed("a CST node's root field (root)")).toBe(composite);
  });

  it("the root's text is the field the adapter replaces", async () => {
    const { root, leaves } = await parsed();
    const text = POLICY.replace('gpu', 'GPU');
    setFullText(root, text);
    expect((root as RootCstNode).fullText, changed("the root's text field (_text)")).toBe(text);
    expect(leaves[1]!.text, changed("the root's text field (_text)")).toBe('GPU');
  });

  it('a linked reference holds its target where the adapter reads it, and links again once unlinked', async () => {
    const { document } = await parsed();
    expect(document.references.length, changed('where a document lists its references')).toBeGreaterThan(0);
    // Policy files have single references only; a copy, as linking again lists the reference anew.
    for (const reference of [...document.references] as Reference[]) {
      const target = reference.ref;
      expect(target, `${reference.$refText} resolves`).toBeDefined();
      expect(resolvedTarget(reference), changed("a reference's target field (_ref)")).toBe(target);
      unlinkReference(reference);
      expect(resolvedTarget(reference), changed("a reference's target field (_ref)")).toBeUndefined();
      expect(reference.ref, changed('how an unlinked reference links again (_ref, _nodeDescription)')).toBe(
        target,
      );
    }
  });
});
