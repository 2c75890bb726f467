/**
 * The language's scope provider with its per-policy cache kept per build: incremental re-parsing
 * (incremental.ts) keeps a policy's AST object while replacing its routes, so a cache keyed by the
 * policy object alone would hand out the old routes.
 */
import {
  type AstNode,
  EMPTY_SCOPE,
  type LangiumCoreServices,
  MapScope,
  type ReferenceInfo,
  type Scope,
  WorkspaceCache,
} from 'langium';
import { isPolicy, isTest, type Policy } from '../generated/ast.js';
import { SwitchyardScopeProvider } from '../scope-provider.js';

const POLICY_LOCAL = new Set(['Route', 'Budget']);

function enclosingPolicy(node: AstNode): Policy | undefined {
  for (let current: AstNode | undefined = node; current; current = current.$container) {
    if (isPolicy(current)) return current;
    if (isTest(current)) return current.policy?.ref;
  }
  return undefined;
}

export class LspScopeProvider extends SwitchyardScopeProvider {
  private readonly policyScopes: WorkspaceCache<Policy, Map<string, Scope>>;

  constructor(services: LangiumCoreServices) {
    super(services);
    this.policyScopes = new WorkspaceCache(services.shared);
  }

  override getScope(context: ReferenceInfo): Scope {
    const type = this.reflection.getReferenceType(context);
    if (!POLICY_LOCAL.has(type)) return super.getScope(context);
    const policy = enclosingPolicy(context.container);
    if (!policy) return EMPTY_SCOPE;
    const byType = this.policyScopes.get(policy, () => new Map());
    let scope = byType.get(type);
    if (!scope) {
      const items = policy.items.filter(
        (item) => item.$type === type && typeof (item as { name?: unknown }).name === 'string',
      );
      scope = new MapScope(
        items.map((item) => this.descriptions.createDescription(item, (item as { name: string }).name)),
      );
      byType.set(type, scope);
    }
    return scope;
  }
}
