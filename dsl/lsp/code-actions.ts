/**
 * Quick fixes, keyed off the validator's issue codes (dsl/validation/issue-codes.ts) and the data
 * each diagnostic carries:
 * - no `otherwise` → add `otherwise reject "…"` at the end of the policy;
 * - unknown reference → change it to a close name (did you mean), or import the file that defines it;
 * - a split not summing to 100% → scale the weights, or fix the last one;
 * - a deadline shorter than the chain's worst case → raise it to the worst case;
 * - `max-tokens` above a model's context → lower it to the context.
 */
import {
  type AstNode,
  AstUtils,
  CstUtils,
  GrammarUtils,
  type LangiumDocument,
  type MaybePromise,
} from 'langium';
import type { CodeActionProvider } from 'langium/lsp';
import {
  type CodeAction,
  CodeActionKind,
  type CodeActionParams,
  type Command,
  type Diagnostic,
  type Position,
  type TextEdit,
} from 'vscode-languageserver-protocol';
import { tokensText } from '../../plan/index.js';
import { type Document, type Policy, type Split, isPolicy, isSplit } from '../generated/ast.js';
import { IssueCodes } from '../validation/issue-codes.js';
import { INDENT } from './formatter.js';

/** The message of the `otherwise` the quick fix adds. */
export const DEFAULT_OTHERWISE_MESSAGE = 'no route serves this request';

type Data = Record<string, unknown> | undefined;

function codeOf(diagnostic: Diagnostic): string | undefined {
  const data = diagnostic.data as Data;
  return typeof data?.code === 'string'
    ? data.code
    : typeof diagnostic.code === 'string'
      ? diagnostic.code
      : undefined;
}

/** Weights scaled to sum to 100 (largest remainder), each at least 1. */
export function scaleWeights(weights: number[]): number[] | undefined {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0 || weights.length > 100) return undefined;
  const exact = weights.map((w) => (w * 100) / sum);
  const scaled = exact.map((x) => Math.max(1, Math.floor(x)));
  let rest = 100 - scaled.reduce((a, b) => a + b, 0);
  const order = exact
    .map((x, i) => ({ i, frac: x - Math.floor(x) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (let k = 0; rest > 0; k = (k + 1) % order.length, rest--) scaled[order[k]!.i]!++;
  while (rest < 0) {
    // Rounding small weights up to 1% overshot: take the excess from the largest.
    const i = scaled.reduce((best, w, j) => (w > scaled[best]! ? j : best), 0);
    if (scaled[i]! <= 1) return undefined;
    scaled[i]!--;
    rest++;
  }
  return rest === 0 ? scaled : undefined;
}

/** `36.6s` → `37s`: the smallest whole-second (or whole-minute, hour) duration at least `ms`. */
export function durationAtLeast(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const seconds = Math.ceil(ms / 1000);
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds >= 120 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

export class SwitchyardCodeActionProvider implements CodeActionProvider {
  getCodeActions(
    document: LangiumDocument,
    params: CodeActionParams,
  ): MaybePromise<Array<Command | CodeAction>> {
    const actions: CodeAction[] = [];
    for (const diagnostic of params.context.diagnostics) {
      try {
        actions.push(...this.fixesFor(document, diagnostic));
      } catch {
        /* a stale diagnostic (the text moved on): no fix */
      }
    }
    return actions;
  }

  private fixesFor(document: LangiumDocument, diagnostic: Diagnostic): CodeAction[] {
    const data = diagnostic.data as Data;
    switch (codeOf(diagnostic)) {
      case IssueCodes.NoOtherwise:
        return this.addOtherwise(document, diagnostic);
      case IssueCodes.UnknownReference:
        return [
          ...((data?.candidates as string[] | undefined) ?? []).map((name, index) =>
            this.fix(
              `Change to '${name}'`,
              document,
              diagnostic,
              [{ range: diagnostic.range, newText: name }],
              index === 0,
            ),
          ),
          ...(typeof data?.importPath === 'string'
            ? [this.addImport(document, diagnostic, data.importPath)]
            : []),
        ];
      case IssueCodes.SplitNotHundred:
        return this.fixSplit(document, diagnostic);
      case IssueCodes.DeadlineTooShort: {
        const worst = Number(data?.worstCaseMs);
        if (!(worst > 0)) return [];
        const text = durationAtLeast(worst);
        return [
          this.fix(
            `Raise the deadline to ${text} (the chain's worst case)`,
            document,
            diagnostic,
            [{ range: diagnostic.range, newText: text }],
            true,
          ),
        ];
      }
      case IssueCodes.MaxTokensAboveContext: {
        const context = Number(data?.context);
        if (!(context > 0)) return [];
        const text = tokensText(context);
        return [
          this.fix(
            `Lower max-tokens to ${text} (the model's context)`,
            document,
            diagnostic,
            [{ range: diagnostic.range, newText: text }],
            true,
          ),
        ];
      }
      default:
        return [];
    }
  }

  private fix(
    title: string,
    document: LangiumDocument,
    diagnostic: Diagnostic,
    edits: TextEdit[],
    preferred = false,
  ): CodeAction {
    return {
      title,
      kind: CodeActionKind.QuickFix,
      diagnostics: [diagnostic],
      isPreferred: preferred,
      edit: { changes: { [document.textDocument.uri]: edits } },
    };
  }

  private nodeAt<T extends AstNode>(
    document: LangiumDocument,
    position: Position,
    is: (n: unknown) => n is T,
  ): T | undefined {
    const root = document.parseResult.value.$cstNode;
    if (!root) return undefined;
    const leaf = CstUtils.findLeafNodeAtOffset(root, document.textDocument.offsetAt(position));
    return leaf ? AstUtils.getContainerOfType(leaf.astNode, is) : undefined;
  }

  private addOtherwise(document: LangiumDocument, diagnostic: Diagnostic): CodeAction[] {
    const name = (diagnostic.data as Data)?.policy;
    const root = document.parseResult.value as Document;
    const policy: Policy | undefined =
      root.policies.find((p) => p.name === name) ?? this.nodeAt(document, diagnostic.range.start, isPolicy);
    const close = policy?.$cstNode ? GrammarUtils.findNodeForKeyword(policy.$cstNode, '}') : undefined;
    if (!policy?.$cstNode || !close) return [];
    const text = document.textDocument.getText();
    const policyLine = policy.$cstNode.range.start.line;
    const lineStart = document.textDocument.offsetAt({ line: policyLine, character: 0 });
    const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
    const line = `${indent}${INDENT}otherwise reject "${DEFAULT_OTHERWISE_MESSAGE}"`;
    const closeStart = close.range.start;
    const beforeClose = text.slice(
      document.textDocument.offsetAt({ line: closeStart.line, character: 0 }),
      close.offset,
    );
    const edit: TextEdit = /^[ \t]*$/.test(beforeClose)
      ? {
          range: {
            start: { line: closeStart.line, character: 0 },
            end: { line: closeStart.line, character: 0 },
          },
          newText: `${line}\n`,
        }
      : { range: { start: closeStart, end: closeStart }, newText: `\n${line}\n${indent}` };
    return [
      this.fix(
        `Add 'otherwise reject "${DEFAULT_OTHERWISE_MESSAGE}"' to policy ${policy.name}`,
        document,
        diagnostic,
        [edit],
        true,
      ),
    ];
  }

  private addImport(document: LangiumDocument, diagnostic: Diagnostic, path: string): CodeAction {
    const root = document.parseResult.value as Document;
    const last = root.imports[root.imports.length - 1]?.$cstNode;
    const firstElement = [...root.providers, ...root.models, ...root.policies, ...root.tests]
      .map((n) => n.$cstNode)
      .filter((n) => n !== undefined)
      .sort((a, b) => a.offset - b.offset)[0];
    const statement = `import "${path}"`;
    const edit: TextEdit = last
      ? { range: { start: last.range.end, end: last.range.end }, newText: `\n${statement}` }
      : {
          range: {
            start: { line: firstElement?.range.start.line ?? 0, character: 0 },
            end: { line: firstElement?.range.start.line ?? 0, character: 0 },
          },
          newText: `${statement}\n\n`,
        };
    return this.fix(`Add ${statement}`, document, diagnostic, [edit], false);
  }

  private fixSplit(document: LangiumDocument, diagnostic: Diagnostic): CodeAction[] {
    const split: Split | undefined = this.nodeAt(document, diagnostic.range.start, isSplit);
    if (!split) return [];
    const weights = split.targets.map((t) => t.weight);
    const nodes = split.targets.map((t) =>
      t.$cstNode ? GrammarUtils.findNodeForProperty(t.$cstNode, 'weight') : undefined,
    );
    if (nodes.some((n) => !n) || weights.some((w) => typeof w !== 'number')) return [];
    const editsFor = (values: number[]): TextEdit[] =>
      values.flatMap((value, i) =>
        value === weights[i] ? [] : [{ range: nodes[i]!.range, newText: `${value}%` }],
      );
    const actions: CodeAction[] = [];
    const scaled = scaleWeights(weights);
    if (scaled) {
      actions.push(
        this.fix(
          `Scale the split to 100% (${scaled.map((w) => `${w}%`).join(', ')})`,
          document,
          diagnostic,
          editsFor(scaled),
          true,
        ),
      );
    }
    const sum = weights.reduce((a, b) => a + b, 0);
    const last = weights[weights.length - 1]! + (100 - sum);
    if (last >= 1 && last <= 100 && weights.length > 1) {
      const values = [...weights.slice(0, -1), last];
      const model = split.targets[split.targets.length - 1]!.model?.$refText;
      actions.push(
        this.fix(`Give ${model} ${last}% so the split sums to 100%`, document, diagnostic, editsFor(values)),
      );
    }
    return actions;
  }
}
