import {
  durationText,
  formatDollars,
  simulate,
  attemptWorstCost,
  bufferingOf,
  type ChainEntry,
  type Decision,
  type InferenceRequest,
  type Plan,
} from '../../plan/index.js';
import { readRequestFile } from '../request-file.js';
import { CliError, parse } from '../args.js';
import type { CommandResult } from '../result.js';
import { compileFiles } from '../plans.js';

export const explainUsage = `usage: switchyard explain FILE --request REQ.json|- [--format text|json]

Shows the decision for one JSON request without calling any model: the route and
the condition that chose it, its execution mode (durable or direct), the candidate chain with its
call options, what 'require' rules and guards removed and why, the budgets and rate limits that
apply, the worst-case cost of each candidate, which guard or escalation rule holds back a streamed
answer until it passes, and what happens when every model answers.
Exit status: 0 explained (whatever the decision), 1 errors in FILE or REQ.json, 2 usage.`;

function readRequest(file: string): InferenceRequest {
  const request = readRequestFile(file);
  return { ...request, id: request.id ?? 'explain' };
}

function options(entry: ChainEntry): string {
  const parts = [`timeout ${durationText(entry.timeoutMs)}`];
  if (entry.retries > 0) parts.push(`retries ${entry.retries}`, `backoff ${durationText(entry.backoffMs)}`);
  if (entry.maxTokens !== null) parts.push(`max-tokens ${entry.maxTokens}`);
  return parts.join(', ');
}

/** docs/language.md §4.9: only the HTTP front door runs a route direct. */
function executionText(mode: 'durable' | 'direct'): string {
  return mode === 'direct'
    ? 'direct (the HTTP front door runs it in its own process; the client and switchyard run stay durable)'
    : 'durable (one workflow per request)';
}

/**
 * docs/language.md §6.4: for each candidate, whether a streaming caller gets its tokens as
 * they come or only once the named guard or escalation rule has seen the whole answer.
 */
function streamRows(decision: Decision): string[] {
  const buffering = bufferingOf(decision);
  return buffering.map((entry, index) => {
    const label = index === 0 ? 'stream' : '';
    const which = index < decision.chain.length ? `${index + 1}.` : `${entry.role}`;
    const how =
      entry.bufferedBy === null ? 'streamed as produced' : `buffered until ${entry.bufferedBy} passes`;
    return `${label.padEnd(10)} ${which} ${entry.model}: ${how}`;
  });
}

export function renderDecision(plan: Plan, request: InferenceRequest, decision: Decision): string[] {
  const lines: string[] = [];
  const row = (label: string, text: string): void => {
    lines.push(`${label.padEnd(10)} ${text}`);
  };
  row('request', `${request.id} → policy ${plan.name} (plan ${plan.hash.slice(0, 19)}…)`);
  row('input', `${decision.inputTokens} tokens (estimated)`);
  if (decision.route)
    row(
      'route',
      `${decision.route}${decision.matched ? `  when ${decision.matched}` : decision.via === 'otherwise' ? '  (otherwise)' : ''}`,
    );
  else row('route', 'none matches');
  if (decision.execution !== null) row('execution', executionText(decision.execution));
  if (decision.split) {
    row(
      'split',
      `${decision.split.remaining.map((t) => `${t.model} ${t.weight}%`).join(', ')} → picked ${decision.split.picked ?? 'none'} (stable hash of the id)`,
    );
  }
  decision.chain.forEach((entry, index) => {
    const cost = attemptWorstCost(entry, decision.inputTokens);
    const where = `${entry.provider}, ${entry.private ? 'private' : 'external'}`;
    const when = entry.when ? ` when ${entry.when}` : '';
    row(
      index === 0 ? 'chain' : '',
      `${index + 1}. ${entry.model} (${entry.role}${when}; ${where}; ${options(entry)}; worst case $${formatDollars(cost.nanos)})`,
    );
  });
  lines.push(...streamRows(decision));
  for (const exclusion of decision.excluded)
    row('excluded', `${exclusion.model} (${exclusion.role}): ${exclusion.reason} [${exclusion.rule}]`);
  for (const guard of decision.guards) {
    const what =
      guard.action === 'redact'
        ? `redacts ${guard.kinds?.join(', ')}`
        : guard.action === 'check'
          ? `checks ${guard.checks?.join(', ')} of answers`
          : guard.action;
    row(
      'guard',
      `${guard.guard} ${guard.phase}: ${what} → ${guard.outcome}${guard.models.length ? ` (${guard.models.join(', ')})` : ''}${guard.detail ? `: ${guard.detail}` : ''}`,
    );
  }
  for (const budget of decision.governance.budgets) {
    const scope =
      budget.scope === 'policy' ? 'policy-wide' : `${budget.scope} ${budget.scopeValue ?? '(none)'}`;
    row(
      'budget',
      `${budget.name} (${scope}): ${budget.limits.map((l) => (l.kind === 'money' ? `$${formatDollars(l.amount)}` : `${l.amount} tokens`) + ` per ${l.window}`).join(', ')}; on-exceed ${budget.onExceed.action}${budget.onExceed.action === 'downgrade' ? ` ${budget.onExceed.model}` : ''}`,
    );
  }
  for (const limit of decision.governance.rateLimits) {
    const scope = limit.scope === 'policy' ? 'policy-wide' : `${limit.scope} ${limit.scopeValue ?? '(none)'}`;
    row(
      'rate',
      `${limit.name} (${scope}): ${limit.limits.map((l) => `${l.amount} ${l.kind} per ${l.window}`).join(', ')}; on-exceed ${limit.onExceed.action}${limit.onExceed.action === 'wait' ? ` ${durationText(limit.onExceed.maxWaitMs)}` : ''}`,
    );
  }
  if (decision.deadlineMs !== null) row('deadline', durationText(decision.deadlineMs));
  if (decision.status === 'rejected')
    row('decision', `rejected: ${decision.reason}${decision.rule ? ` [${decision.rule}]` : ''}`);
  return lines;
}

export async function explain(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { request: { type: 'string', short: 'r' }, format: { type: 'string' } },
    explainUsage,
  );
  if (values.help) return { stdout: explainUsage, exitCode: 0 };
  if (positionals.length !== 1)
    return { usage: `switchyard explain takes exactly one FILE\n${explainUsage}` };
  if (typeof values.request !== 'string')
    return {
      usage: `switchyard explain needs --request REQ.json (or - for standard input)\n${explainUsage}`,
    };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json')
    return { usage: `--format must be text or json, not '${format}'` };

  const request = readRequest(values.request);
  const compiled = await compileFiles(positionals);
  if (compiled.errors.length > 0) return { stderr: compiled.errors.join('\n'), exitCode: 1 };
  const plan = compiled.allPlans.get(request.policy);
  if (!plan) {
    const known = [...compiled.allPlans.keys()];
    throw new CliError(
      'E-REQUEST-POLICY',
      `request ${request.id}: field 'policy' names '${request.policy}', but ${positionals[0]} ${known.length ? `declares ${known.join(', ')}` : 'declares no policy'}`,
    );
  }
  const { decision, result } = simulate(plan, request);
  if (format === 'json')
    return {
      stdout: JSON.stringify(
        { decision, streaming: bufferingOf(decision), ifEveryModelAnswers: result },
        null,
        2,
      ),
      exitCode: 0,
    };

  const lines = renderDecision(plan, request, decision);
  if (decision.status !== 'rejected') {
    lines.push(
      `${'outcome'.padEnd(10)} if every model answers: ${result.status}${result.model ? ` by ${result.model}` : ''}${result.reason ? ` (${result.reason})` : ''}, ${result.attempts.length} attempt${result.attempts.length === 1 ? '' : 's'}`,
    );
  }
  return { stdout: lines.join('\n'), exitCode: 0 };
}
