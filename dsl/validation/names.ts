/**
 * Duplicate names (docs/language.md §2.2): providers, models and policies share one namespace
 * across the workspace; routes, budgets, guards and rate limits are unique (per kind) in their
 * policy. A duplicate is an error at every place. Two tests of one file with the same name: a
 * warning.
 */
import {
  type AstNode,
  type AstNodeDescription,
  AstUtils,
  type LangiumDocument,
  UriUtils,
  type ValidationAcceptor,
  type ValidationChecks,
  WorkspaceCache,
} from 'langium';
import type {
  Budget,
  Document,
  Guard,
  Policy,
  RateLimit,
  Route,
  SwitchyardAstType,
  Test,
} from '../generated/ast.js';
import type { SwitchyardServices } from '../switchyard-module.js';
import { IssueCodes } from './issue-codes.js';

const GLOBAL_TYPES = new Set(['Provider', 'Model', 'Policy']);
const LOCAL_TYPES = new Set(['Route', 'Budget', 'Guard', 'RateLimit']);

const WORDS: Record<string, string> = {
  Provider: 'provider',
  Model: 'model',
  Policy: 'policy',
  Route: 'route',
  Budget: 'budget',
  Guard: 'guard',
  RateLimit: 'rate-limit',
};

/** `catalog.policy:12:7` (relative to the reporting document), or `line 12` in the same file. */
function where(
  from: LangiumDocument,
  uri: { toString(): string } | undefined,
  line: number,
  column: number,
): string {
  if (!uri || uri.toString() === from.uri.toString()) return `line ${line}`;
  const relative = UriUtils.relative(UriUtils.dirname(from.uri), uri as LangiumDocument['uri']);
  return `${relative}:${line}:${column}`;
}

function nodeLine(node: AstNode): { line: number; column: number } {
  const start = node.$cstNode?.range.start;
  return { line: (start?.line ?? 0) + 1, column: (start?.character ?? 0) + 1 };
}

export function nameChecks(services: SwitchyardServices): ValidationChecks<SwitchyardAstType> {
  const indexManager = services.shared.workspace.IndexManager;
  const documents = services.shared.workspace.LangiumDocuments;
  const locator = services.workspace.AstNodeLocator;
  // One map of global names per workspace state (Langium clears the cache on every change).
  const globalNames = new WorkspaceCache<'all', Map<string, AstNodeDescription[]>>(services.shared);
  const allGlobalNames = (): Map<string, AstNodeDescription[]> =>
    globalNames.get('all', () => {
      const byName = new Map<string, AstNodeDescription[]>();
      for (const description of indexManager.allElements()) {
        if (!GLOBAL_TYPES.has(description.type)) continue;
        // The index may still hold documents that were removed from the workspace.
        if (!documents.hasDocument(description.documentUri)) continue;
        const list = byName.get(description.name);
        if (list) list.push(description);
        else byName.set(description.name, [description]);
      }
      return byName;
    });

  const checkGlobalDuplicates = (root: Document, accept: ValidationAcceptor): void => {
    const document = AstUtils.getDocument(root);
    const byName = allGlobalNames();
    for (const node of [...root.providers, ...root.models, ...root.policies]) {
      if (!node.name) continue;
      const all = byName.get(node.name) ?? [];
      if (all.length < 2) continue;
      const path = locator.getAstNodePath(node);
      const others = all.filter(
        (d) => !(d.documentUri.toString() === document.uri.toString() && d.path === path),
      );
      if (others.length === 0) continue;
      const list = others.map((d) => {
        const start = d.nameSegment?.range.start;
        return `${WORDS[d.type] ?? d.type} '${d.name}' at ${where(document, d.documentUri, (start?.line ?? 0) + 1, (start?.character ?? 0) + 1)}`;
      });
      accept(
        'error',
        `${WORDS[node.$type]} '${node.name}' is defined more than once (providers, models and policies share one namespace): also ${list.join(', ')}`,
        {
          node,
          property: 'name',
          code: IssueCodes.DuplicateName,
          data: {
            code: IssueCodes.DuplicateName,
            name: node.name,
            others: others.map((d) => d.documentUri.toString()),
          },
        },
      );
    }
  };

  const checkDuplicateTests = (root: Document, accept: ValidationAcceptor): void => {
    const byName = new Map<string, Test[]>();
    for (const test of root.tests) {
      if (typeof test.name !== 'string') continue;
      byName.set(test.name, [...(byName.get(test.name) ?? []), test]);
    }
    for (const [name, tests] of byName) {
      if (tests.length < 2) continue;
      for (const test of tests) {
        const lines = tests.filter((t) => t !== test).map((t) => nodeLine(t).line);
        accept(
          'warning',
          `test "${name}" is defined more than once in this file: also at line ${lines.join(', ')}`,
          {
            node: test,
            property: 'name',
            code: IssueCodes.DuplicateTest,
            data: { code: IssueCodes.DuplicateTest, name },
          },
        );
      }
    }
  };

  const checkLocalDuplicates = (policy: Policy, accept: ValidationAcceptor): void => {
    const byKey = new Map<string, (Route | Budget | Guard | RateLimit)[]>();
    for (const item of policy.items) {
      if (!LOCAL_TYPES.has(item.$type)) continue;
      const name = (item as Route | Budget | Guard | RateLimit).name;
      if (!name) continue;
      const key = `${item.$type}\u0000${name}`;
      byKey.set(key, [...(byKey.get(key) ?? []), item as Route | Budget | Guard | RateLimit]);
    }
    for (const items of byKey.values()) {
      if (items.length < 2) continue;
      for (const item of items) {
        const name = item.name!;
        const word = WORDS[item.$type]!;
        const lines = items.filter((i) => i !== item).map((i) => nodeLine(i).line);
        accept(
          'error',
          `${word} '${name}' is defined more than once in policy '${policy.name}': also at line ${lines.join(', ')}`,
          {
            node: item,
            property: 'name',
            code: IssueCodes.DuplicateName,
            data: { code: IssueCodes.DuplicateName, name },
          },
        );
      }
    }
  };

  return {
    Document: [checkGlobalDuplicates, checkDuplicateTests],
    Policy: checkLocalDuplicates,
  };
}
