/**
 * Hover: on a model (its provider, private or external, context, prices), a route (its execution
 * mode, its chain, the worst-case cost of one request in dollars, the worst-case latency against
 * its deadline), a budget (limits and windows), and on providers, policies, guards, rate limits and
 * tests. Hovering a reference shows what it names.
 */
import type { AstNode, MaybePromise } from 'langium';
import { AstNodeHoverProvider } from 'langium/lsp';
import { DEFAULT_TIMEOUT_MS, tokensText } from '../../plan/index.js';
import {
  type Budget,
  type Guard,
  type Model,
  type Policy,
  type Provider,
  type RateLimit,
  type Route,
  type Test,
  isApiKey,
  isBlock,
  isBudget,
  isBudgetExceed,
  isCapabilities,
  isDescription,
  isEndpoints,
  isGuard,
  isMaxInput,
  isModel,
  isModelContext,
  isModelId,
  isModelVersion,
  isMoneyLimit,
  isOtherwise,
  isOwner,
  isPolicy,
  isPolicyVersion,
  isProvider,
  isProviderKind,
  isRateExceed,
  isRateLimit,
  isRateLine,
  isRedact,
  isRegion,
  isRequire,
  isRoute,
  isSchemaCheck,
  isTest,
  isTokenLimit,
} from '../generated/ast.js';
import {
  formatDuration,
  isPrivateProvider,
  modelPrice,
  providerConcurrency,
  providerOf,
  providerQueue,
  providerTimeoutMs,
} from '../validation/catalog-facts.js';
import { sourceText } from '../validation/condition-facts.js';
import { effectiveExecution, policyExecution } from '../validation/execution.js';
import {
  TYPICAL_INPUT_TOKENS,
  describeChain,
  dollars,
  entryFor,
  routeCostAt,
  routeLatency,
  routeWorstCost,
  worstAnswer,
} from './costs.js';

const code = (text: string): string => `\`${text.replace(/`/g, "'")}\``;

export function modelHover(model: Model): string {
  const provider = providerOf(model);
  const id = model.items.find(isModelId)?.id;
  const version = model.items.find(isModelVersion)?.version;
  const context = model.items.find(isModelContext)?.value;
  const capabilities = model.items.find(isCapabilities)?.names ?? [];
  const price = modelPrice(model);
  const lines = [
    `**model ${model.name}**${id ? ` — ${code(id)}` : ''}${version ? ` version ${version}` : ''}`,
    '',
  ];
  if (provider) {
    const kind = provider.items.find(isProviderKind)?.kind;
    lines.push(
      `- provider **${provider.name}**${kind ? ` (${kind})` : ''}: ${
        isPrivateProvider(provider)
          ? '**private** — data stays on our infrastructure'
          : '**external** — data leaves our infrastructure'
      }`,
    );
  } else {
    lines.push('- no provider');
  }
  lines.push(`- context ${context !== undefined ? tokensText(context) : 'unknown'} tokens`);
  if (capabilities.length > 0) lines.push(`- capabilities ${capabilities.join(', ')}`);
  const priced = model.items.some((i) => i.$type === 'PriceItem');
  lines.push(
    priced ? `- price: input ${price.input.text}, output ${price.output.text}` : '- no price: costs $0',
  );
  const entry = entryFor(model, 'primary');
  if (priced) {
    const worst = worstAnswer(entry);
    const typical = worstAnswer(entry, TYPICAL_INPUT_TOKENS);
    lines.push(
      `- worst case per answer: **${dollars(worst.nanos)}**${worst.nanos !== undefined ? ` (${tokensText(worst.inputTokens)} in, ${tokensText(worst.outputTokens)} out)` : ' (no context to bound it)'}; with a ${tokensText(TYPICAL_INPUT_TOKENS)}-token prompt ${dollars(typical.nanos)}`,
    );
  }
  return lines.join('\n');
}

export function providerHover(provider: Provider): string {
  const kind = provider.items.find(isProviderKind)?.kind;
  const endpoints = provider.items.find(isEndpoints)?.urls ?? [];
  const lines = [
    `**provider ${provider.name}**${kind ? ` (${kind})` : ''}: ${isPrivateProvider(provider) ? '**private**' : '**external**'}`,
    '',
  ];
  if (endpoints.length > 0) lines.push(`- endpoints ${endpoints.map(code).join(', ')}`);
  lines.push(`- task queue ${code(providerQueue(provider))}`);
  const concurrency = providerConcurrency(provider);
  lines.push(`- ${concurrency} request${concurrency === 1 ? '' : 's'} in flight per endpoint`);
  lines.push(`- timeout ${formatDuration(providerTimeoutMs(provider) ?? DEFAULT_TIMEOUT_MS)} per attempt`);
  const region = provider.items.find(isRegion)?.region;
  if (region) lines.push(`- region ${code(region)}`);
  const key = provider.items.find(isApiKey)?.variable;
  if (key) lines.push(`- API key from ${code(`$${key}`)}`);
  return lines.join('\n');
}

/** docs/language.md §4.9: what the mode means, and where it comes from. */
function executionLine(route: Route): string {
  const { mode, from } = effectiveExecution(route);
  const source = from === 'route' ? '' : from === 'policy' ? " (the policy's default)" : ' (the default)';
  const meaning =
    mode === 'direct'
      ? 'the HTTP front door runs each request in its own process, without a workflow'
      : 'each request is one workflow, which survives the loss of any worker or front door';
  return `Execution: **${mode}**${source} — ${meaning}`;
}

export function routeHover(route: Route): string {
  const policy = route.$container as Policy | undefined;
  const lines = [`**route ${route.name}**${policy?.name ? ` in policy ${policy.name}` : ''}`, ''];
  if (route.when) lines.push(`when ${code(sourceText(route.when, 200))}`, '');
  lines.push(executionLine(route), '');
  const chain = describeChain(route);
  if (chain.length > 0) lines.push('Chain:', '', ...chain, '');
  const cost = routeWorstCost(route);
  if (cost) {
    const answers = cost.answers
      .map(
        (a, i) =>
          `${i === 0 ? '' : 'then after escalation '}${a.model} answers ${tokensText(a.outputTokens)} tokens (${dollars(a.nanos)})`,
      )
      .join(', ');
    lines.push(
      cost.nanos === undefined
        ? 'Worst-case cost per request: **unbounded** (a priced model has no context to bound it)'
        : `Worst-case cost per request: **${dollars(cost.nanos)}** — a ${tokensText(cost.inputTokens)}-token prompt, ${answers}`,
    );
    const typical = routeCostAt(route, TYPICAL_INPUT_TOKENS);
    if (typical)
      lines.push(
        `With a ${tokensText(TYPICAL_INPUT_TOKENS)}-token prompt: at most ${dollars(typical.nanos)}`,
      );
    lines.push('');
  }
  const latency = routeLatency(route);
  if (latency) {
    const verdict =
      latency.deadlineMs === undefined
        ? 'no deadline'
        : latency.worstMs > latency.deadlineMs
          ? `**exceeds its deadline of ${formatDuration(latency.deadlineMs)}**`
          : `within its deadline of ${formatDuration(latency.deadlineMs)}`;
    lines.push(`Worst-case latency: **${formatDuration(latency.worstMs)}** (${latency.path}) — ${verdict}`);
  }
  return lines.join('\n').trimEnd();
}

function limitLines(budget: Budget): string[] {
  return budget.items.flatMap((item) => {
    if (isMoneyLimit(item)) return [`- limit $${item.amount} per ${item.window}`];
    if (isTokenLimit(item)) return [`- ${tokensText(item.amount)} tokens per ${item.window}`];
    return [];
  });
}

export function budgetHover(budget: Budget): string {
  const exceed = budget.items.find(isBudgetExceed);
  const action = exceed
    ? `${exceed.action}${exceed.action === 'downgrade' ? ` to ${exceed.model?.$refText}` : ''}`
    : 'reject';
  return [
    `**budget ${budget.name}** per ${budget.scope ?? 'policy'}`,
    '',
    ...limitLines(budget),
    `- on exceed: ${action}`,
    '',
    'Every request reserves its worst-case cost here before each attempt and commits the actual cost after it.',
  ].join('\n');
}

export function rateLimitHover(limit: RateLimit): string {
  const exceed = limit.items.find(isRateExceed);
  return [
    `**rate-limit ${limit.name ?? ''}** per ${limit.scope ?? 'policy'}`,
    '',
    ...limit.items.filter(isRateLine).map((l) => `- ${tokensText(l.amount)} ${l.unit} per ${l.window}`),
    `- on exceed: ${exceed ? (exceed.action === 'wait' ? `wait up to ${formatDuration(exceed.maxWait ?? 0)}` : 'reject') : 'reject'}`,
  ].join('\n');
}

export function guardHover(guard: Guard): string {
  const target = guard.target;
  const on =
    target?.kind === 'route'
      ? `route ${target.route?.$refText}`
      : target?.kind === 'model'
        ? `model ${target.model?.$refText}`
        : (target?.kind ?? '?');
  const lines = [`**guard ${guard.name}** ${guard.phase} ${on}`, ''];
  for (const item of guard.items) {
    if (isRedact(item)) lines.push(`- redacts ${item.kinds.join(', ')}`);
    else if (isBlock(item))
      lines.push(`- blocks ${code(item.pattern)}${item.message ? `: "${item.message}"` : ''}`);
    else if (isMaxInput(item)) lines.push(`- at most ${tokensText(item.amount)} input tokens`);
    else if (isSchemaCheck(item)) lines.push(`- answers must match the JSON Schema ${code(item.path)}`);
  }
  return lines.join('\n');
}

export function policyHover(policy: Policy): string {
  const version = policy.items.find(isPolicyVersion);
  const owner = policy.items.find(isOwner)?.owner;
  const description = policy.items.find(isDescription)?.text;
  const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const otherwise = policy.items.find(isOtherwise);
  return [
    `**policy ${policy.name}**${version ? ` version ${version.number ?? version.text}` : ''}${owner ? `, owned by ${owner}` : ''}`,
    ...(description ? ['', description] : []),
    '',
    `- ${count(policy.items.filter(isRoute).length, 'route')}, ${count(policy.items.filter(isBudget).length, 'budget')}, ${count(policy.items.filter(isRateLimit).length, 'rate limit')}, ${count(policy.items.filter(isGuard).length, 'guard')}, ${count(policy.items.filter(isRequire).length, 'require rule')}`,
    `- execution: ${policyExecution(policy)?.mode ?? 'durable'} (the default of its routes)`,
    `- otherwise: ${otherwise ? (otherwise.action === 'route' ? `route ${otherwise.route?.$refText}` : `reject${otherwise.message ? ` "${otherwise.message}"` : ''}`) : 'reject (default message)'}`,
  ].join('\n');
}

export function testHover(test: Test): string {
  return `**test** "${test.name}" for policy ${test.policy?.$refText ?? '?'}\n\nRun it with **Switchyard: Run Tests** or \`switchyard test\`.`;
}

/** The hover text of a declaration, or undefined for nodes without one. */
export function hoverFor(node: AstNode): string | undefined {
  if (isModel(node)) return modelHover(node);
  if (isProvider(node)) return providerHover(node);
  if (isRoute(node)) return routeHover(node);
  if (isBudget(node)) return budgetHover(node);
  if (isRateLimit(node)) return rateLimitHover(node);
  if (isGuard(node)) return guardHover(node);
  if (isPolicy(node)) return policyHover(node);
  if (isTest(node)) return testHover(node);
  return undefined;
}

export class SwitchyardHoverProvider extends AstNodeHoverProvider {
  protected override getAstNodeHoverContent(node: AstNode): MaybePromise<string | undefined> {
    return hoverFor(node);
  }
}
