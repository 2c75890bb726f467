/**
 * The editor features through Langium's test helpers, on the language server's services
 * (dsl/lsp/module.ts) without a connection: completion, hover, definition, references, rename,
 * symbols, semantic tokens, folding, formatting and quick fixes.
 */
import * as path from 'node:path';
import { URI, type LangiumDocument } from 'langium';
import { NodeFileSystem } from 'langium/node';
import {
  clearDocuments,
  expectCompletion,
  expectFormatting,
  expectGoToDefinition,
  expectHover,
  expectSemanticToken,
  highlightHelper,
  parseHelper,
  testCodeAction,
} from 'langium/test';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  SemanticTokenTypes,
  SymbolKind,
  type CodeAction,
  type Diagnostic,
} from 'vscode-languageserver-protocol';
import { createSwitchyardLspServices } from '../../dsl/lsp/module.js';
import { scaleWeights } from '../../dsl/lsp/code-actions.js';
import { IssueCodes } from '../../dsl/validation/issue-codes.js';

const services = createSwitchyardLspServices(NodeFileSystem);
const lsp = services.Switchyard;
const parse = parseHelper(lsp);

/** A self-contained file: two providers, two models, one policy. */
const CATALOG = `provider pool {
  kind ollama
  endpoints "http://localhost:11434"
  timeout 10s
  private
}

provider cloud {
  kind openai
  endpoints "https://api.example.com/v1"
  api-key env CLOUD_KEY
}

model small {
  provider pool
  context 8k
  capabilities chat, classify
  price input $0.0001 per 1k, output $0.0002 per 1k
}

model large {
  provider cloud
  context 128k
  capabilities chat, reasoning
  price input $0.0025 per 1k, output $0.01 per 1k
}
`;

const POLICY = `policy p {
  budget monthly per team {
    limit $100 per month
    tokens 5M per day
    on-exceed downgrade small
  }

  route chat when capability == "chat" {
    use small timeout 2s retries 1
    fallback large timeout 20s
    deadline 30s
  }

  otherwise reject "no"
}
`;

const withIndex = (text: string, marker: string): string =>
  text.replace(marker.replace('^', ''), marker.replace('^', '<|>'));

afterEach(async () => {
  await clearDocuments(services.shared);
});

describe('completion', () => {
  const completion = expectCompletion(lsp);
  const labels = (items: { label: string }[]): string[] => items.map((i) => i.label);

  it('proposes the models in scope after use', async () => {
    await completion({
      text: `${CATALOG}policy p {\n  route r when true {\n    use <|>\n  }\n}\n`,
      index: 0,
      assert: (list) => expect(labels(list.items)).toEqual(expect.arrayContaining(['small', 'large'])),
    });
  });

  it('proposes the keywords a route body allows', async () => {
    await completion({
      text: `${CATALOG}policy p {\n  route r when true {\n    <|>\n  }\n}\n`,
      index: 0,
      assert: (list) =>
        expect(labels(list.items)).toEqual(
          expect.arrayContaining(['use', 'split', 'fallback', 'escalate', 'deadline']),
        ),
    });
  });

  it('proposes request fields in a condition and output fields after escalate', async () => {
    await completion({
      text: `${CATALOG}policy p {\n  route r when <|>`,
      index: 0,
      assert: (list) =>
        expect(labels(list.items)).toEqual(
          expect.arrayContaining(['capability', 'mode', 'classification', 'input.tokens', 'tag.']),
        ),
    });
    await completion({
      text: `${CATALOG}policy p {\n  route r when true {\n    use small\n    escalate large when <|>`,
      index: 0,
      assert: (list) => {
        expect(labels(list.items)).toEqual(
          expect.arrayContaining(['output.truncated', 'output.empty', 'output.invalid']),
        );
        expect(labels(list.items)).not.toContain('capability');
      },
    });
  });

  it('proposes enum values and the capabilities in use', async () => {
    await completion({
      text: `${CATALOG}policy p {\n  route r when mode == <|>`,
      index: 0,
      assert: (list) => expect(labels(list.items)).toEqual(expect.arrayContaining(['interactive', 'batch'])),
    });
    await completion({
      text: `${CATALOG}policy p {\n  require private when classification >= <|>`,
      index: 0,
      assert: (list) =>
        expect(labels(list.items)).toEqual(
          expect.arrayContaining(['public', 'internal', 'confidential', 'restricted']),
        ),
    });
    await completion({
      text: `${CATALOG}policy p {\n  route r when capability == <|>`,
      index: 0,
      assert: (list) =>
        expect(labels(list.items)).toEqual(expect.arrayContaining(['"chat"', '"classify"', '"reasoning"'])),
    });
    await completion({
      text: `${CATALOG}model m {\n  capabilities <|>`,
      index: 0,
      assert: (list) =>
        expect(labels(list.items)).toEqual(expect.arrayContaining(['chat', 'classify', 'reasoning'])),
    });
  });

  it('proposes windows and PII kinds', async () => {
    await completion({
      text: `policy p {\n  budget b {\n    limit $5 per <|>`,
      index: 0,
      assert: (list) =>
        expect(labels(list.items)).toEqual(
          expect.arrayContaining(['minute', 'hour', 'day', 'week', 'month']),
        ),
    });
    await completion({
      text: `policy p {\n  guard g before all {\n    redact <|>`,
      index: 0,
      assert: (list) =>
        expect(labels(list.items)).toEqual(
          expect.arrayContaining(['email', 'phone', 'credit-card', 'iban', 'ip-address']),
        ),
    });
  });
});

describe('hover', () => {
  const hover = expectHover(lsp);

  it('shows a route: its chain, the worst-case cost in dollars, and latency against the deadline', async () => {
    await hover({
      text: `${CATALOG}${withIndex(POLICY, 'route ^chat')}`,
      index: 0,
      hover: /Worst-case cost per request: \*\*\$1\.28\*\*/,
    });
    await hover({
      text: `${CATALOG}${withIndex(POLICY, 'route ^chat')}`,
      index: 0,
      hover:
        /1\. use small \(pool, private\)[\s\S]*2\. fallback large \(cloud, external\)[\s\S]*Worst-case latency: \*\*25s\*\*.*within its deadline of 30s/,
    });
  });

  it('shows a model where it is used: provider, private or external, context, prices', async () => {
    await hover({
      text: `${CATALOG}${withIndex(POLICY, 'fallback ^large')}`,
      index: 0,
      hover:
        /\*\*model large\*\*[\s\S]*provider \*\*cloud\*\* \(openai\): \*\*external\*\*[\s\S]*context 128k[\s\S]*input \$0\.0025 per 1k, output \$0\.01 per 1k/,
    });
  });

  it('shows a budget: limits and windows', async () => {
    await hover({
      text: `${CATALOG}${withIndex(POLICY, 'budget ^monthly')}`,
      index: 0,
      hover: /per team[\s\S]*limit \$100 per month[\s\S]*5M tokens per day[\s\S]*downgrade to small/,
    });
  });
});

describe('definition, references and rename', () => {
  it('goes to a model in the same file', async () => {
    await expectGoToDefinition(lsp)({
      text: `${CATALOG.replace('model small {', 'model <|small|> {')}${withIndex(POLICY, 'use ^small')}`,
      index: 0,
      rangeIndex: 0,
    });
  });

  async function twoFiles(): Promise<{ catalog: LangiumDocument; policy: LangiumDocument }> {
    const dir = path.resolve('test/.tmp/lsp-services');
    const catalog = await parse(CATALOG, {
      documentUri: URI.file(path.join(dir, 'catalog.policy')).toString(),
    });
    const policy = await parse(`import "catalog.policy"\n\n${POLICY}`, {
      documentUri: URI.file(path.join(dir, 'p.policy')).toString(),
      validation: true,
    });
    return { catalog, policy };
  }

  it('goes to a model in an imported file', async () => {
    const { catalog, policy } = await twoFiles();
    const text = policy.textDocument.getText();
    const links = await lsp.lsp.DefinitionProvider!.getDefinition(policy, {
      textDocument: { uri: policy.textDocument.uri },
      position: policy.textDocument.positionAt(text.indexOf('use small') + 5),
    });
    expect(links).toHaveLength(1);
    expect(links![0]!.targetUri).toBe(catalog.textDocument.uri);
    expect(catalog.textDocument.getText(links![0]!.targetSelectionRange)).toBe('small');
  });

  it('finds references across files and renames a model everywhere', async () => {
    const { catalog, policy } = await twoFiles();
    const decl = catalog.textDocument.positionAt(catalog.textDocument.getText().indexOf('model small') + 7);
    const refs = await lsp.lsp.ReferencesProvider!.findReferences(catalog, {
      textDocument: { uri: catalog.textDocument.uri },
      position: decl,
      context: { includeDeclaration: true },
    });
    const byFile = (uri: string): number => refs.filter((r) => r.uri === uri).length;
    expect(byFile(catalog.textDocument.uri)).toBe(1);
    expect(byFile(policy.textDocument.uri)).toBe(2); // `use small`, `downgrade small`

    const edit = await lsp.lsp.RenameProvider!.rename(catalog, {
      textDocument: { uri: catalog.textDocument.uri },
      position: decl,
      newName: 'pool-8b',
    });
    expect(edit?.changes?.[catalog.textDocument.uri]).toHaveLength(1);
    expect(edit?.changes?.[policy.textDocument.uri]?.map((e) => e.newText)).toEqual(['pool-8b', 'pool-8b']);
    await expect(
      lsp.lsp.RenameProvider!.rename(catalog, {
        textDocument: { uri: catalog.textDocument.uri },
        position: decl,
        newName: '8b model',
      }),
    ).rejects.toThrow(/not a name/);
    await expect(
      lsp.lsp.RenameProvider!.rename(catalog, {
        textDocument: { uri: catalog.textDocument.uri },
        position: decl,
        newName: 'and',
      }),
    ).rejects.toThrow(/reserved/);
  });

  it('reports an unknown model that the file does not import, with the file to import', async () => {
    const dir = path.resolve('test/.tmp/lsp-services');
    await parse(CATALOG, { documentUri: URI.file(path.join(dir, 'catalog.policy')).toString() });
    const policy = await parse(POLICY, {
      documentUri: URI.file(path.join(dir, 'p.policy')).toString(),
      validation: true,
    });
    const unknown = (policy.diagnostics ?? []).filter((d) => d.code === IssueCodes.UnknownReference);
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown[0]!.message).toMatch(/defined in catalog\.policy.*add import "catalog\.policy"/);
    const actions = (await lsp.lsp.CodeActionProvider!.getCodeActions(policy, {
      textDocument: { uri: policy.textDocument.uri },
      range: unknown[0]!.range,
      context: { diagnostics: [unknown[0]!] },
    })) as CodeAction[];
    expect(actions.map((a) => a.title)).toContain('Add import "catalog.policy"');
  });
});

describe('outline, semantic tokens and folding', () => {
  it('lists providers, models, the policy and its routes and budgets as symbols', async () => {
    const document = await parse(`${CATALOG}${POLICY}`);
    const symbols = (await lsp.lsp.DocumentSymbolProvider!.getSymbols(document, {
      textDocument: { uri: document.textDocument.uri },
    })) as {
      name: string;
      kind: SymbolKind;
      children?: { name: string; kind: SymbolKind }[];
    }[];
    expect(symbols.map((s) => [s.name, s.kind])).toEqual([
      ['pool', SymbolKind.Struct],
      ['cloud', SymbolKind.Struct],
      ['small', SymbolKind.Class],
      ['large', SymbolKind.Class],
      ['p', SymbolKind.Namespace],
    ]);
    expect(symbols[4]!.children?.map((c) => [c.name, c.kind])).toEqual([
      ['monthly', SymbolKind.Variable],
      ['chat', SymbolKind.Function],
    ]);
  });

  it('marks a model named like a keyword as a model', async () => {
    const tokens = await highlightHelper(lsp)(
      `provider pool {\n  kind ollama\n  endpoints "http://localhost:1"\n  private\n}\nmodel batch {\n  provider pool\n}\npolicy p {\n  route r when mode == batch {\n    use <|batch|>\n  }\n}\n`,
    );
    expectSemanticToken(tokens, { tokenType: SemanticTokenTypes.class, rangeIndex: 0 });
  });

  it('folds blocks', async () => {
    const document = await parse(`${CATALOG}${POLICY}`);
    const ranges = await lsp.lsp.FoldingRangeProvider!.getFoldingRanges(document, {
      textDocument: { uri: document.textDocument.uri },
    });
    const policyLine = CATALOG.split('\n').length - 1;
    expect(ranges.some((r) => r.startLine === policyLine)).toBe(true);
    expect(ranges.length).toBeGreaterThanOrEqual(7);
  });
});

describe('formatting', () => {
  const formatting = expectFormatting(lsp);

  it('indents blocks, puts one item per line and normalises spaces', async () => {
    await formatting({
      before: `policy   p{\n route r when capability=="chat" and ( mode == batch or tag.x != "y" ) { use small retries 1 fallback large }\nbudget b per team { limit $5 per day }\n   otherwise reject}\n`,
      after: `policy p {\n  route r when capability == "chat" and (mode == batch or tag.x != "y") { use small retries 1 fallback large }\n  budget b per team { limit $5 per day }\n  otherwise reject\n}\n`,
    });
    await formatting({
      before: `policy p {\n route r when true {\n use small\n\n\n\n fallback large\n }\n}`,
      after: `policy p {\n  route r when true {\n    use small\n\n    fallback large\n  }\n}\n`,
    });
  });

  it('keeps comments in place, aligned trailing comments included', async () => {
    await formatting({
      before: `// header\nprovider x {\n kind ollama        // the kind\n  endpoints "http://a:1" // where\n    // own line\n   private\n}\n`,
      after: `// header\nprovider x {\n  kind ollama        // the kind\n  endpoints "http://a:1" // where\n  // own line\n  private\n}\n`,
    });
  });

  it('keeps one-line request blocks on one line', async () => {
    await formatting({
      before: `test "t" for p {\nrequest { capability "chat"   mode interactive }\n  expect route r model small }\n`,
      after: `test "t" for p {\n  request { capability "chat" mode interactive }\n  expect route r model small\n}\n`,
    });
  });
});

describe('quick fixes', () => {
  const fix = testCodeAction(lsp);

  it('adds a missing otherwise', async () => {
    const before = `${CATALOG}policy p {\n  route chat when capability == "chat" {\n    use small\n  }\n}\n`;
    const after = `${CATALOG}policy p {\n  route chat when capability == "chat" {\n    use small\n  }\n  otherwise reject "no route serves this request"\n}\n`;
    await fix(before, IssueCodes.NoOtherwise, after);
  });

  it('changes an unknown reference to the name it most likely meant', async () => {
    const before = `${CATALOG}policy p {\n  route chat when true {\n    use smal\n  }\n}\n`;
    const result = await fix(before, IssueCodes.UnknownReference, before.replace('use smal', 'use small'));
    expect(result.action?.title).toBe("Change to 'small'");
  });

  it('makes a split sum to 100%', async () => {
    const before = `${CATALOG}policy p {\n  route r when true {\n    split small 90%\n  }\n  otherwise reject\n}\n`;
    await fix(before, IssueCodes.SplitNotHundred, before.replace('90%', '100%'));

    const document = await parse(
      `${CATALOG}policy p {\n  route r when true {\n    split small 60%, large 30%\n  }\n}\n`,
      { validation: true },
    );
    const diagnostic = document.diagnostics!.find((d) => d.code === IssueCodes.SplitNotHundred)!;
    const actions = (await lsp.lsp.CodeActionProvider!.getCodeActions(document, {
      textDocument: { uri: document.textDocument.uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    })) as CodeAction[];
    expect(actions.map((a) => a.title)).toEqual([
      'Scale the split to 100% (67%, 33%)',
      'Give large 40% so the split sums to 100%',
    ]);
  });

  it('raises a deadline shorter than the worst case', async () => {
    const before = `${CATALOG}policy p {\n  route r when true {\n    use small timeout 5s retries 2 backoff 200ms\n    deadline 8s\n  }\n  otherwise reject\n}\n`;
    // 3 attempts × 5s + 200ms + 400ms backoff = 15.6s → 16s
    await fix(before, IssueCodes.DeadlineTooShort, before.replace('deadline 8s', 'deadline 16s'));
  });

  it('scales weights with the largest remainder, never below 1%', () => {
    expect(scaleWeights([60, 30])).toEqual([67, 33]);
    expect(scaleWeights([1, 1, 1])).toEqual([34, 33, 33]);
    expect(scaleWeights([1000, 1])).toEqual([99, 1]);
    expect(scaleWeights([0, 0])).toBeUndefined();
  });
});

describe('diagnostics', () => {
  let diagnostics: Diagnostic[] = [];
  beforeAll(async () => {
    const document = await parse(
      `${CATALOG}policy p {\n  route r when capability == "chat" {\n    use small\n    deadline 1s\n  }\n}\n`,
      {
        validation: true,
      },
    );
    diagnostics = document.diagnostics ?? [];
    await clearDocuments(services.shared);
  });

  it('carry the validator codes', () => {
    expect(diagnostics.map((d) => d.code).sort()).toEqual(
      [IssueCodes.NoOtherwise, IssueCodes.DeadlineTooShort].sort(),
    );
  });
});
