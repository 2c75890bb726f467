/**
 * Completion: Langium proposes the keywords the grammar allows at the cursor and the names a
 * reference can take (models, providers, budgets, routes, policies, from the file's import
 * closure). This adds what the grammar cannot know: request fields in conditions, the values a
 * field takes (`interactive`, `confidential`, …), the capabilities the catalog's models
 * declare (bare in `capabilities`, quoted after `capability ==`), and what each execution mode
 * means (after `execution`).
 */
import { AstUtils, GrammarAST, type LangiumDocuments, type MaybePromise } from 'langium';
import {
  type CompletionAcceptor,
  type CompletionContext,
  DefaultCompletionProvider,
  type LangiumServices,
  type NextFeature,
} from 'langium/lsp';
import { CompletionItemKind } from 'vscode-languageserver-protocol';
import { type Document, isCapabilities } from '../generated/ast.js';
import { CLASSIFICATIONS, MODES, OUTPUT_FIELDS, REQUEST_FIELDS } from '../validation/condition-facts.js';

/** What each request field means, for the completion's detail. */
const FIELD_DOCS: Record<string, string> = {
  capability: 'what the caller asks for ("chat", "reasoning", …)',
  mode: 'interactive | batch (default interactive)',
  classification: 'public < internal < confidential < restricted (default internal)',
  team: 'the calling team',
  app: 'the calling application',
  user: 'the end user',
  region: 'where the request comes from',
  'input.tokens': 'estimated input tokens',
  'max-tokens': 'the most output tokens the caller asks for',
  latency: "the caller's latency budget",
  'tag.': 'a tag of the request: tag.NAME',
  'output.truncated': 'the answer stopped at max-tokens',
  'output.empty': 'the answer is empty',
  'output.invalid': 'an after guard rejected the answer',
  'output.tokens': 'output tokens of the answer',
};

/** docs/language.md §4.9, for the completion's detail after `execution`. */
const EXECUTION_DOCS: Record<string, string> = {
  durable: 'the default: each request is one Temporal workflow, it survives any worker or front door',
  direct: 'the HTTP front door runs the request in its own process, without a workflow',
};

const FIELD = String.raw`([A-Za-z][\w-]*(?:\.[A-Za-z][\w-]*)?)`;
const AFTER_COMPARISON = new RegExp(`${FIELD}\\s*(?:==|!=|<=|>=|<|>)\\s*$`);
const INSIDE_IN_LIST = new RegExp(`${FIELD}\\s+in\\s*\\[[^\\]]*$`);
const AFTER_REQUEST_FIELD = new RegExp(`${FIELD}\\s+$`);
const IN_ESCALATE = /\bescalate\s+[A-Za-z][\w-]*\s+when\b[^{}]*$/;

export class SwitchyardCompletionProvider extends DefaultCompletionProvider {
  private readonly langiumDocuments: LangiumDocuments;

  constructor(services: LangiumServices) {
    super(services);
    this.langiumDocuments = services.shared.workspace.LangiumDocuments;
  }

  protected override completionFor(
    context: CompletionContext,
    next: NextFeature,
    acceptor: CompletionAcceptor,
  ): MaybePromise<void> {
    const rule = AstUtils.getContainerOfType(next.feature, GrammarAST.isParserRule)?.name;
    const before = context.textDocument
      .getText()
      .slice(Math.max(0, context.tokenOffset - 400), context.tokenOffset);
    switch (rule) {
      case 'Capabilities':
        for (const capability of this.capabilitiesInUse()) {
          acceptor(context, { label: capability, kind: CompletionItemKind.EnumMember, detail: 'capability' });
        }
        return;
      case 'FieldPath':
        if (next.property === 'tail') return;
        for (const field of IN_ESCALATE.test(before)
          ? Object.keys(OUTPUT_FIELDS)
          : [...Object.keys(REQUEST_FIELDS), 'tag.']) {
          acceptor(context, {
            label: field,
            kind: CompletionItemKind.Field,
            detail: FIELD_DOCS[field],
            ...(field === 'tag.'
              ? { command: { title: 'suggest', command: 'editor.action.triggerSuggest' } }
              : {}),
          });
        }
        return;
      case 'Execution':
        if (GrammarAST.isKeyword(next.feature) && next.feature.value in EXECUTION_DOCS) {
          const mode = next.feature.value;
          acceptor(context, {
            label: mode,
            kind: CompletionItemKind.EnumMember,
            detail: `execution ${mode}`,
            documentation: EXECUTION_DOCS[mode],
            sortText: mode === 'durable' ? '0' : '1',
          });
          return;
        }
        return super.completionFor(context, next, acceptor);
      case 'Value':
      case 'StringValue':
      case 'NameValue':
        this.valueCompletion(
          context,
          before,
          rule === 'NameValue' || rule === 'StringValue' ? rule : undefined,
          acceptor,
        );
        return;
      default:
        return super.completionFor(context, next, acceptor);
    }
  }

  private valueCompletion(
    context: CompletionContext,
    before: string,
    only: 'NameValue' | 'StringValue' | undefined,
    acceptor: CompletionAcceptor,
  ): void {
    const field =
      AFTER_COMPARISON.exec(before)?.[1] ??
      INSIDE_IN_LIST.exec(before)?.[1] ??
      AFTER_REQUEST_FIELD.exec(before)?.[1];
    if (!field) return;
    const values =
      field === 'mode'
        ? MODES.map((v) => ({ label: v, kind: CompletionItemKind.EnumMember, bare: true }))
        : field === 'classification'
          ? CLASSIFICATIONS.map((v) => ({ label: v, kind: CompletionItemKind.EnumMember, bare: true }))
          : field === 'capability'
            ? this.capabilitiesInUse().map((v) => ({
                label: `"${v}"`,
                kind: CompletionItemKind.Value,
                bare: false,
              }))
            : [];
    for (const value of values) {
      if (only === 'NameValue' && !value.bare) continue;
      if (only === 'StringValue' && value.bare) continue;
      acceptor(context, { label: value.label, kind: value.kind, detail: field });
    }
  }

  /** Capabilities the workspace's models declare, sorted. */
  private capabilitiesInUse(): string[] {
    const found = new Set<string>();
    for (const document of this.langiumDocuments.all) {
      const root = document.parseResult.value as Document;
      for (const model of root.models ?? []) {
        for (const item of model.items)
          if (isCapabilities(item)) item.names.forEach((n) => n && found.add(n));
      }
    }
    return [...found].sort();
  }
}
