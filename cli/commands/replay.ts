/**
 * `switchyard replay`: the audit trail's requests decided again under the plans of other policy
 * files, without calling any model (docs/what-if.md, "Replay"). Records are streamed from the
 * store (store `replayRows`), never all held; the decisions and totals are plan/replay.ts's.
 */
import { Replay, REPLAY_CHANGES, type ReplayReport, type ReplayedRequest } from '../../plan/replay.js';
import type { Message } from '../../plan/types.js';
import { parse } from '../args.js';
import { compileFiles } from '../plans.js';
import type { CommandResult } from '../result.js';
import { asCliError, openForReading, parseTime } from './store-access.js';

export const replayUsage = `usage: switchyard replay --policies NEW [--since TIME] [--until TIME] [--team T] [--limit N]
                        [--store URL] [--format text|json]

Decides the requests of the audit trail again under the plans compiled from NEW (a file or a
folder), without calling any model, and compares with what each request had: changed route or
model, newly rejected or newly allowed, models that the new 'require' rules remove. Totals: the
requests changed per route and per team, the cost difference (each request's recorded token counts
at the new prices of the model the new plan puts first) per team and per budget, and the budget
windows those costs would have exceeded.
  --since, --until  TIME is 2026-11-27, 2026-11-27T10:00:00Z, or a duration ago (30m, 2h, 7d);
                    --since is inclusive (default 7d; 'all': the whole trail), --until exclusive
  --team            only this team's requests
  --limit           changed requests listed one by one (default 100; 0: none)
Records written before audit records kept routing facts are skipped, and counted.
The store is --store URL, else SWITCHYARD_STORE, else sqlite:.switchyard/state.db.
Exit status: 0 replayed, 1 errors, 2 usage.`;

const CHANGE_WORDS: Record<(typeof REPLAY_CHANGES)[number], string> = {
  route: 'route',
  model: 'model',
  'newly-rejected': 'newly rejected',
  'newly-allowed': 'newly allowed',
  'data-rule': 'data rule',
};

/** The kept prompt of a record's body, when the audit kept it in full. */
function keptPrompt(body: string | undefined): Message[] | undefined {
  // The store gives the body only of a record whose prompt was kept in full.
  if (body === undefined) return undefined;
  const prompts = (
    JSON.parse(body) as { prompts?: { mode?: string; messages?: { role: string; content?: string }[] } }
  ).prompts;
  if (prompts?.mode !== 'full' || !Array.isArray(prompts.messages)) return undefined;
  return prompts.messages.map((m) => ({ role: m.role, content: m.content ?? '' }) as Message);
}

function signed(difference: string): string {
  return difference.startsWith('-') ? `-$${difference.slice(1)}` : `+$${difference}`;
}

function moneyLine(m: { was: string; would: string; difference: string }): string {
  return `$${m.was} → $${m.would} (${signed(m.difference)})`;
}

function name(value: string | null, none = '(none)'): string {
  return value ?? none;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function requestLines(r: ReplayedRequest): string[] {
  const was = r.was;
  const now = r.now;
  const changes = r.changes.map((c) => CHANGE_WORDS[c]).join(', ');
  const wasWhy = was.rule !== null ? ` (${was.rule})` : '';
  const nowWhy = now.status === 'rejected' && now.reason !== null ? ` "${now.reason}"` : '';
  const lines = [
    `  #${r.seq} ${r.id}  ${r.time}  team ${name(r.team, '-')}  ${changes}`,
    `      was: ${was.status}${wasWhy}  route ${name(was.route, '-')}  tried [${was.chain.join(', ')}]  answered ${name(was.model, '-')}  $${was.cost}`,
    `      now: ${now.status}${nowWhy}  route ${name(now.route, '-')}  chain [${now.chain.join(', ')}]  first ${name(now.model, '-')}  $${now.cost}`,
  ];
  for (const removed of now.removed) lines.push(`      removed: ${removed.model} by ${removed.rule}`);
  return lines;
}

export function replayText(report: ReplayReport, policies: string): string {
  const out: string[] = [];
  out.push(`replay under ${policies}`);
  for (const plan of report.plans) out.push(`  policy ${plan.policy}  ${plan.hash}`);
  const skipped: string[] = [];
  if (report.skipped.withoutRoutingFacts > 0)
    skipped.push(`${report.skipped.withoutRoutingFacts} written before routing facts were kept`);
  for (const u of report.skipped.unknownPolicy)
    skipped.push(`${u.records} of policy ${u.policy}, not in ${policies}`);
  out.push(
    `records: ${report.records}, replayed ${report.replayed}` +
      (skipped.length > 0 ? `, skipped ${skipped.join('; ')}` : ''),
  );
  out.push(
    `changed: ${report.changed} of ${report.replayed} — ` +
      REPLAY_CHANGES.map((c) => `${CHANGE_WORDS[c]} ${report.byChange[c]}`).join(', '),
  );
  out.push(`cost: ${moneyLine(report.cost)}`);
  if (report.blockPatternsUnchecked > 0) {
    out.push(
      `note: block patterns not checked again for ${plural(report.blockPatternsUnchecked, 'request')} (prompt not kept in full)`,
    );
  }

  out.push('', 'by route (had → now)');
  for (const r of report.byRoute) {
    const to = r.to.map((t) => `${name(t.route, 'rejected')} ${t.requests}`).join(', ');
    out.push(`  ${name(r.route)}: ${plural(r.requests, 'request')}, ${r.changed} changed → ${to}`);
  }
  out.push('', 'by team');
  for (const t of report.byTeam) {
    out.push(`  ${name(t.team)}: ${plural(t.requests, 'request')}, ${t.changed} changed, ${moneyLine(t)}`);
  }
  if (report.byBudget.length > 0) {
    out.push('', 'by budget');
    for (const b of report.byBudget) {
      out.push(
        `  ${b.policy}/${b.budget} [${name(b.scopeValue)}]: ${plural(b.requests, 'request')}, ${moneyLine(b)}`,
      );
    }
  }
  out.push('', 'budgets that would have been exceeded');
  if (report.exceeded.length === 0) out.push('  none');
  for (const e of report.exceeded) {
    out.push(
      `  ${e.policy}/${e.budget} [${name(e.scopeValue)}] ${e.limit}, window from ${e.windowStart}: would be ${e.would}; first over at #${e.firstOver.seq} ${e.firstOver.id} (${e.firstOver.time})`,
    );
  }
  if (report.dataRules.length > 0) {
    out.push('', 'data rules that now remove models the requests used');
    for (const d of report.dataRules) out.push(`  ${d.rule}: ${d.model} (${plural(d.requests, 'request')})`);
  }
  if (report.requests.length > 0) {
    const total = report.requests.length + report.moreRequests;
    out.push(
      '',
      report.moreRequests > 0
        ? `changed requests (the first ${report.requests.length} of ${total})`
        : 'changed requests',
    );
    for (const r of report.requests) out.push(...requestLines(r));
  }
  return out.join('\n');
}

export async function replay(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    {
      policies: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      team: { type: 'string' },
      limit: { type: 'string' },
      store: { type: 'string' },
      format: { type: 'string' },
    },
    replayUsage,
  );
  if (values.help) return { stdout: replayUsage, exitCode: 0 };
  if (positionals.length > 0) return { usage: `unexpected argument '${positionals[0]}'\n${replayUsage}` };
  const policies = values.policies as string | undefined;
  if (policies === undefined) return { usage: `--policies NEW is required\n${replayUsage}` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json') return { usage: `--format ${format}: expected text or json` };
  const limitText = values.limit as string | undefined;
  if (limitText !== undefined && !/^\d{1,7}$/.test(limitText))
    return { usage: `--limit ${limitText}: expected a number of requests` };
  const sinceText = (values.since as string | undefined) ?? '7d';
  const since = sinceText === 'all' ? undefined : parseTime(sinceText, '--since');
  const until = values.until === undefined ? undefined : parseTime(values.until as string, '--until');

  const compiled = await compileFiles([policies]);
  if (compiled.errors.length > 0) return { stderr: compiled.errors.join('\n'), exitCode: 1 };
  const replayer = new Replay(compiled.allPlans, { list: limitText === undefined ? 100 : Number(limitText) });
  const withBody = [...compiled.allPlans.values()].some((plan) =>
    plan.guards.some((g) => g.phase === 'before' && g.blocks.length > 0),
  );

  const store = await openForReading(values.store as string | undefined);
  try {
    const rows = store.replayRows({ since, until, team: values.team as string | undefined, withBody });
    for await (const page of rows) {
      for (const row of page) {
        replayer.add(row, withBody && replayer.wantsPrompt(row) ? keptPrompt(row.body) : undefined);
      }
    }
  } catch (error) {
    throw asCliError(error);
  } finally {
    await store.close();
  }
  const report = replayer.report();
  const warnings = compiled.warnings.length > 0 ? compiled.warnings.join('\n') : undefined;
  if (format === 'json') return { stdout: JSON.stringify(report, null, 2), stderr: warnings, exitCode: 0 };
  return { stdout: replayText(report, policies), stderr: warnings, exitCode: 0 };
}
