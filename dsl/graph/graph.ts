/**
 * The policy diagram as a graph, computed from the linked model: each policy's routes (with their
 * conditions and execution mode) → primary, split, fallback and escalation targets (edges labelled
 * with what makes them run) → models → providers (private or external), with budgets, rate limits,
 * guards and `require` rules attached where they apply. Layout is not decided here: dot.ts hands
 * the graph to Graphviz.
 */
import { AstUtils, type AstNode, type CstNode, GrammarUtils } from 'langium';
import type { Range } from 'vscode-languageserver-types';
import {
  type Budget,
  type Document,
  type Guard,
  type Model,
  type Policy,
  type Provider,
  type RateLimit,
  type Require,
  type Route,
  isBudget,
  isBudgetExceed,
  isDeadline,
  isGuard,
  isMoneyLimit,
  isOtherwise,
  isRateLimit,
  isRateLine,
  isRequire,
  isRoute,
  isTokenLimit,
  isCapabilities,
  isModelContext,
  isProviderKind,
  isRedact,
  isBlock,
  isMaxInput,
  isSchemaCheck,
} from '../generated/ast.js';
import { tokensText } from '../../plan/index.js';
import { formatDuration, isPrivateProvider, modelPrice, providerOf } from '../validation/catalog-facts.js';
import { sourceText } from '../validation/condition-facts.js';
import { effectiveExecution, type ExecutionMode } from '../validation/execution.js';
import { allTargets, type ChainTarget } from '../validation/route-facts.js';

export type GraphNodeKind =
  'policy' | 'route' | 'otherwise' | 'model' | 'provider' | 'budget' | 'rate-limit' | 'guard' | 'require';

export type GraphEdgeKind =
  | 'route'
  | 'otherwise'
  | 'use'
  | 'split'
  | 'fallback'
  | 'escalate'
  | 'provider'
  | 'budget'
  | 'downgrade'
  | 'guard'
  | 'require';

export interface SourceLocation {
  uri: string;
  /** The range of the element's name (or its first line), to reveal and select. */
  range: Range;
}

export interface GraphNode {
  /** Stable while the element keeps its name: `route:support/interactive`, `model:gpt-4o`. */
  id: string;
  kind: GraphNodeKind;
  /** First line: `route interactive`. */
  title: string;
  /** Further lines: the condition, the prices, … */
  details: string[];
  /** For providers and models: private (true) or external (false). */
  private?: boolean;
  /** For routes: how their requests run (docs/language.md §4.9). */
  execution?: ExecutionMode;
  /** The policy whose box holds this node (routes, budgets, guards …). */
  policy?: string;
  location?: SourceLocation;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: GraphEdgeKind;
  label?: string;
}

export interface PolicyGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Policy names, in source order (one box each). */
  policies: string[];
}

function locationOf(node: AstNode, property = 'name'): SourceLocation | undefined {
  const document = AstUtils.getDocument(node);
  const cst: CstNode | undefined =
    (node.$cstNode && GrammarUtils.findNodeForProperty(node.$cstNode, property)) ?? node.$cstNode;
  if (!cst) return undefined;
  return { uri: document.uri.toString(), range: cst.range };
}

const ORDINAL = (n: number): string => `#${n}`;

/** Builds the graph of every policy in `root` (or of its catalog, when it declares no policy). */
export function buildPolicyGraph(root: Document): PolicyGraph {
  const nodes = new Map<string, GraphNode>();
  const edges: GraphEdge[] = [];
  const add = (node: GraphNode): string => {
    if (!nodes.has(node.id)) nodes.set(node.id, node);
    return node.id;
  };
  const edge = (from: string, to: string, kind: GraphEdgeKind, label?: string): void => {
    edges.push({ from, to, kind, ...(label ? { label } : {}) });
  };

  const providerNode = (provider: Provider): string =>
    add({
      id: `provider:${provider.name}`,
      kind: 'provider',
      title: `provider ${provider.name}`,
      details: [
        `${provider.items.find(isProviderKind)?.kind ?? '?'}, ${isPrivateProvider(provider) ? 'private' : 'external'}`,
      ],
      private: isPrivateProvider(provider),
      location: locationOf(provider),
    });

  const modelNode = (model: Model): string => {
    const id = `model:${model.name}`;
    if (nodes.has(id)) return id;
    const provider = providerOf(model);
    const context = model.items.find(isModelContext)?.value;
    const price = modelPrice(model);
    const priced = model.items.some((i) => i.$type === 'PriceItem');
    add({
      id,
      kind: 'model',
      title: `model ${model.name}`,
      details: [
        ...(context !== undefined ? [`context ${tokensText(context)}`] : []),
        priced ? `in ${price.input.text}, out ${price.output.text}` : 'free',
        ...(model.items.find(isCapabilities)?.names.length
          ? [model.items.find(isCapabilities)!.names.join(', ')]
          : []),
      ],
      private: provider ? isPrivateProvider(provider) : undefined,
      location: locationOf(model),
    });
    if (provider) edge(id, providerNode(provider), 'provider');
    return id;
  };

  const policies = root.policies ?? [];
  for (const policy of policies) addPolicy(policy);
  if (policies.length === 0) {
    for (const provider of root.providers ?? []) providerNode(provider);
    for (const model of root.models ?? []) modelNode(model);
  }
  return { nodes: [...nodes.values()], edges, policies: policies.map((p) => p.name) };

  function addPolicy(policy: Policy): void {
    const policyId = add({
      id: `policy:${policy.name}`,
      kind: 'policy',
      title: `policy ${policy.name}`,
      details: ['routes are tried in order'],
      policy: policy.name,
      location: locationOf(policy),
    });
    const routeIds = new Map<Route, string>();
    let index = 0;
    for (const route of policy.items.filter(isRoute)) {
      index++;
      const deadline = route.items.find(isDeadline)?.value;
      const execution = effectiveExecution(route).mode;
      const id = add({
        id: `route:${policy.name}/${route.name}`,
        kind: 'route',
        title: `route ${route.name}`,
        details: [
          `when ${sourceText(route.when, 70)}`,
          ...(deadline !== undefined ? [`deadline ${formatDuration(deadline)}`] : []),
          `execution ${execution}`,
        ],
        execution,
        policy: policy.name,
        location: locationOf(route),
      });
      routeIds.set(route, id);
      edge(policyId, id, 'route', ORDINAL(index));
      addTargets(route, id);
    }
    const otherwise = policy.items.find(isOtherwise);
    if (otherwise?.action === 'route' && otherwise.route?.ref && routeIds.has(otherwise.route.ref)) {
      edge(policyId, routeIds.get(otherwise.route.ref)!, 'otherwise', 'otherwise');
    } else {
      const id = add({
        id: `otherwise:${policy.name}`,
        kind: 'otherwise',
        title: 'reject',
        details: [otherwise?.message ? `"${otherwise.message}"` : 'no route matches (default message)'],
        policy: policy.name,
        location: otherwise ? locationOf(otherwise, 'action') : undefined,
      });
      edge(policyId, id, 'otherwise', 'otherwise');
    }
    for (const item of policy.items) {
      if (isBudget(item)) addBudget(policy, item, policyId);
      else if (isRateLimit(item)) addRateLimit(policy, item, policyId);
      else if (isGuard(item)) addGuard(policy, item, policyId, routeIds);
      else if (isRequire(item)) addRequire(policy, item, policyId);
    }
  }

  function targetLabel(target: ChainTarget, fallbackIndex: number): string {
    const options = target.options
      .map((o) => {
        const value = (o as { value?: number }).value ?? 0;
        switch (o.$type) {
          case 'TimeoutOption':
            return `timeout ${formatDuration(value)}`;
          case 'RetriesOption':
            return `retries ${value}`;
          case 'BackoffOption':
            return `backoff ${formatDuration(value)}`;
          case 'MaxTokensOption':
            return `max-tokens ${tokensText(value)}`;
        }
        return '';
      })
      .filter(Boolean);
    const suffix = options.length > 0 ? `\n${options.join(', ')}` : '';
    switch (target.role) {
      case 'use':
        return `use${suffix}`;
      case 'split':
        return `split ${(target.holder as { weight?: number }).weight ?? '?'}%${suffix}`;
      case 'fallback':
        return `fallback ${fallbackIndex} (on failure)${suffix}`;
      case 'escalate':
        return `escalate when ${sourceText((target.holder as { when?: AstNode }).when, 50)}${suffix}`;
    }
  }

  function addTargets(route: Route, routeId: string): void {
    let fallbacks = 0;
    for (const target of allTargets(route)) {
      const model = target.model?.ref;
      if (!model) continue;
      if (target.role === 'fallback') fallbacks++;
      edge(routeId, modelNode(model), target.role, targetLabel(target, fallbacks));
    }
  }

  function addBudget(policy: Policy, budget: Budget, policyId: string): void {
    const limits = budget.items.flatMap((item) =>
      isMoneyLimit(item)
        ? [`$${item.amount} per ${item.window}`]
        : isTokenLimit(item)
          ? [`${tokensText(item.amount)} tokens per ${item.window}`]
          : [],
    );
    const exceed = budget.items.find(isBudgetExceed);
    const id = add({
      id: `budget:${policy.name}/${budget.name}`,
      kind: 'budget',
      title: `budget ${budget.name}`,
      details: [
        `per ${budget.scope ?? 'policy'}: ${limits.join(', ')}`,
        `on exceed ${exceed?.action ?? 'reject'}`,
      ],
      policy: policy.name,
      location: locationOf(budget),
    });
    edge(id, policyId, 'budget', 'every request');
    if (exceed?.action === 'downgrade' && exceed.model?.ref)
      edge(id, modelNode(exceed.model.ref), 'downgrade', 'downgrade');
  }

  function addRateLimit(policy: Policy, limit: RateLimit, policyId: string): void {
    const name = limit.name ?? `rate-limit-${policy.items.filter(isRateLimit).indexOf(limit) + 1}`;
    const id = add({
      id: `rate-limit:${policy.name}/${name}`,
      kind: 'rate-limit',
      title: `rate-limit${limit.name ? ` ${limit.name}` : ''}`,
      details: [
        `per ${limit.scope ?? 'policy'}: ${limit.items
          .filter(isRateLine)
          .map((l) => `${tokensText(l.amount)} ${l.unit}/${l.window}`)
          .join(', ')}`,
      ],
      policy: policy.name,
      location: limit.name ? locationOf(limit) : locationOf(limit, 'scope'),
    });
    edge(id, policyId, 'budget', 'every request');
  }

  function addGuard(policy: Policy, guard: Guard, policyId: string, routeIds: Map<Route, string>): void {
    const what = guard.items.map((item) =>
      isRedact(item)
        ? `redact ${item.kinds.join(', ')}`
        : isBlock(item)
          ? `block ${item.pattern}`
          : isMaxInput(item)
            ? `max-input ${tokensText(item.amount)}`
            : isSchemaCheck(item)
              ? `schema ${item.path}`
              : '',
    );
    const id = add({
      id: `guard:${policy.name}/${guard.name}`,
      kind: 'guard',
      title: `guard ${guard.name}`,
      details: [`${guard.phase} ${guard.target?.kind ?? ''}`, ...what.filter(Boolean).slice(0, 3)],
      policy: policy.name,
      location: locationOf(guard),
    });
    const target = guard.target;
    const label = guard.phase;
    if (target?.kind === 'route' && target.route?.ref && routeIds.has(target.route.ref)) {
      edge(id, routeIds.get(target.route.ref)!, 'guard', label);
    } else if (target?.kind === 'model' && target.model?.ref) {
      edge(id, modelNode(target.model.ref), 'guard', label);
    } else if (target?.kind === 'external') {
      const external = [...nodes.values()].filter((n) => n.kind === 'provider' && n.private === false);
      for (const provider of external) edge(id, provider.id, 'guard', `${label} external`);
      if (external.length === 0) edge(id, policyId, 'guard', `${label} external`);
    } else {
      edge(id, policyId, 'guard', `${label} all`);
    }
  }

  function addRequire(policy: Policy, rule: Require, policyId: string): void {
    const id = add({
      id: `require:${policy.name}/${policy.items.filter(isRequire).indexOf(rule) + 1}`,
      kind: 'require',
      title: rule.kind === 'private' ? 'require private' : `require region "${rule.region ?? ''}"`,
      details: [
        rule.when ? `when ${sourceText(rule.when, 60)}` : 'always',
        rule.kind === 'private' ? 'removes external models' : 'removes models of other regions',
      ],
      policy: policy.name,
      location: locationOf(rule, 'kind'),
    });
    edge(id, policyId, 'require', 'filters every chain');
  }
}
