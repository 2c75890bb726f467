/** Symbol and completion kinds: what the outline and the completion list show for each name. */
import type { AstNode, AstNodeDescription } from 'langium';
import { isAstNode } from 'langium';
import type { NodeKindProvider } from 'langium/lsp';
import { CompletionItemKind, SymbolKind } from 'vscode-languageserver-protocol';

const SYMBOLS: Record<string, SymbolKind> = {
  Provider: SymbolKind.Struct,
  Model: SymbolKind.Class,
  Policy: SymbolKind.Namespace,
  Route: SymbolKind.Function,
  Budget: SymbolKind.Variable,
  RateLimit: SymbolKind.Variable,
  Guard: SymbolKind.Event,
  Test: SymbolKind.Method,
};

const COMPLETIONS: Record<string, CompletionItemKind> = {
  Provider: CompletionItemKind.Struct,
  Model: CompletionItemKind.Class,
  Policy: CompletionItemKind.Module,
  Route: CompletionItemKind.Function,
  Budget: CompletionItemKind.Variable,
  RateLimit: CompletionItemKind.Variable,
  Guard: CompletionItemKind.Event,
  Test: CompletionItemKind.Method,
};

export class SwitchyardNodeKindProvider implements NodeKindProvider {
  getSymbolKind(node: AstNode | AstNodeDescription): SymbolKind {
    return SYMBOLS[typeOf(node)] ?? SymbolKind.Field;
  }

  getCompletionItemKind(node: AstNode | AstNodeDescription): CompletionItemKind {
    return COMPLETIONS[typeOf(node)] ?? CompletionItemKind.Reference;
  }
}

function typeOf(node: AstNode | AstNodeDescription): string {
  return isAstNode(node) ? node.$type : node.type;
}
