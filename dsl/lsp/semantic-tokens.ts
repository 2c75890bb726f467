/**
 * Semantic tokens: what each name is, whatever the TextMate grammar guessed. Keywords are not
 * reserved as names (a model may be called `batch`), so only the parser knows that `batch` in
 * `use batch` is a model; these tokens tell the editor.
 */
import type { AstNode } from 'langium';
import { AbstractSemanticTokenProvider, type SemanticTokenAcceptor } from 'langium/lsp';
import { SemanticTokenModifiers, SemanticTokenTypes } from 'vscode-languageserver-protocol';
import {
  isApiKey,
  isBudget,
  isBudgetExceed,
  isCapabilities,
  isEscalate,
  isExpect,
  isFieldPath,
  isGivenAnswers,
  isGivenFails,
  isGivenSpent,
  isGuard,
  isGuardTarget,
  isModel,
  isModelProvider,
  isNameValue,
  isOtherwise,
  isPolicy,
  isProvider,
  isRateLimit,
  isRoute,
  isSplitTarget,
  isTest,
  isCallTarget,
} from '../generated/ast.js';

/** The token type of each kind of name, declaration and reference alike. */
export const NAME_TOKEN_TYPES = {
  Provider: SemanticTokenTypes.type,
  Model: SemanticTokenTypes.class,
  Policy: SemanticTokenTypes.namespace,
  Route: SemanticTokenTypes.function,
  Budget: SemanticTokenTypes.variable,
  RateLimit: SemanticTokenTypes.variable,
  Guard: SemanticTokenTypes.event,
} as const;

const DECLARATION = [SemanticTokenModifiers.declaration, SemanticTokenModifiers.definition];

export class SwitchyardSemanticTokenProvider extends AbstractSemanticTokenProvider {
  protected override highlightElement(node: AstNode, accept: SemanticTokenAcceptor): void {
    if (
      isProvider(node) ||
      isModel(node) ||
      isPolicy(node) ||
      isRoute(node) ||
      isBudget(node) ||
      isGuard(node)
    ) {
      if (node.name)
        accept({ node, property: 'name', type: NAME_TOKEN_TYPES[node.$type], modifier: DECLARATION });
    } else if (isRateLimit(node)) {
      if (node.name)
        accept({ node, property: 'name', type: NAME_TOKEN_TYPES.RateLimit, modifier: DECLARATION });
    } else if (isModelProvider(node)) {
      accept({ node, property: 'provider', type: NAME_TOKEN_TYPES.Provider });
    } else if (
      isCallTarget(node) ||
      isSplitTarget(node) ||
      isEscalate(node) ||
      isGivenFails(node) ||
      isGivenAnswers(node)
    ) {
      accept({ node, property: 'model', type: NAME_TOKEN_TYPES.Model });
    } else if (isBudgetExceed(node)) {
      if (node.model) accept({ node, property: 'model', type: NAME_TOKEN_TYPES.Model });
    } else if (isGuardTarget(node)) {
      if (node.model) accept({ node, property: 'model', type: NAME_TOKEN_TYPES.Model });
      if (node.route) accept({ node, property: 'route', type: NAME_TOKEN_TYPES.Route });
    } else if (isOtherwise(node)) {
      if (node.route) accept({ node, property: 'route', type: NAME_TOKEN_TYPES.Route });
    } else if (isTest(node)) {
      accept({ node, property: 'policy', type: NAME_TOKEN_TYPES.Policy });
    } else if (isGivenSpent(node)) {
      accept({ node, property: 'budget', type: NAME_TOKEN_TYPES.Budget });
    } else if (isExpect(node)) {
      if (node.route) accept({ node, property: 'route', type: NAME_TOKEN_TYPES.Route });
      if (node.model) accept({ node, property: 'model', type: NAME_TOKEN_TYPES.Model });
    } else if (isFieldPath(node)) {
      accept({ node, property: 'head', type: SemanticTokenTypes.property });
      if (node.tail) accept({ node, property: 'tail', type: SemanticTokenTypes.property });
    } else if (isNameValue(node)) {
      accept({ node, property: 'name', type: SemanticTokenTypes.enumMember });
    } else if (isCapabilities(node)) {
      node.names.forEach((_, index) =>
        accept({ node, property: 'names', index, type: SemanticTokenTypes.enumMember }),
      );
    } else if (isApiKey(node)) {
      accept({
        node,
        property: 'variable',
        type: SemanticTokenTypes.variable,
        modifier: SemanticTokenModifiers.readonly,
      });
    }
  }
}
