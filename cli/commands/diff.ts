import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidRequest } from '../../client/validate-request.js';
import { compileTests, hashPlan, validatePlan } from '../../dsl/compiler/index.js';
import { SourceError } from '../../dsl/workspace.js';
import { diffPlans } from '../../plan/diff.js';
import type { PlanChange } from '../../plan/diff.js';
import { simulate } from '../../plan/simulate.js';
import type { SimulationGiven } from '../../plan/simulate.js';
import type { InferenceResult } from '../../plan/trace.js';
import type { InferenceRequest, Plan } from '../../plan/types.js';
import { CliError, parse } from '../args.js';
import { displayPath } from '../output.js';
import { compileFiles } from '../plans.js';
import { readRequestFile } from '../request-file.js';
import type { CommandResult } from '../result.js';

export const diffUsage = `usage: switchyard diff OLD NEW [--format text|json] [--requests FILE|DIR]…

What changed between two versions of the policies, in words: routes added, removed and
reordered, conditions, chains, timeouts and call options, prices, budgets, rate limits, guards,
require rules, otherwise and audit; the plan hashes of both sides; and which requests now take
another route or model, or are newly refused or served. The requests are the test blocks of both
sides (run as 'switchyard test' runs them, with their 'given'), and the request JSON files named
by --requests (a directory: every .json file in it).

OLD and NEW are each a .policy file, a directory of .policy files, or a compiled plan (.json,
as 'switchyard compile' writes it). Policies are matched by name.

Exit status: 0 the plans are equal, 1 they differ, 2 usage or an input that cannot be read,
parsed or compiled (the error's code and file:line:col on standard error).`;

interface Side {
  /** As given on the command line. */
  label: string;
  plans: Map<string, Plan>;
  /** Where each policy comes from (file), for the report. */
  sources: Map<string, string>;
  requests: NamedRequest[];
}

interface NamedRequest {
  /** `test "NAME"` or the request file. */
  name: string;
  /** `file:line` of the test, or the request file. */
  source: string;
  request: InferenceRequest;
  given: SimulationGiven;
}

interface Outcome {
  status: InferenceResult['status'];
  route: string | null;
  model: string | null;
  reason: string | null;
}

interface Reroute {
  request: string;
  source: string;
  before: Outcome;
  after: Outcome;
  /** `route batch → interactive; model llama-8b → gpt-4o`. */
  text: string;
}

interface PolicyDiff {
  policy: string;
  status: 'changed' | 'unchanged' | 'added' | 'removed';
  old: { hash: string; source: string } | null;
  new: { hash: string; source: string } | null;
  changes: PlanChange[];
  /** How many requests were decided under both plans. */
  requests: number;
  reroutes: Reroute[];
}

export async function diff(argv: string[]): Promise<CommandResult> {
  const { values, positionals } = parse(
    argv,
    { format: { type: 'string' }, requests: { type: 'string', multiple: true } },
    diffUsage,
  );
  if (values.help) return { stdout: diffUsage, exitCode: 0 };
  if (positionals.length !== 2) return { usage: `switchyard diff takes OLD and NEW\n${diffUsage}` };
  const format = (values.format as string | undefined) ?? 'text';
  if (format !== 'text' && format !== 'json')
    return { usage: `--format must be text or json, not '${format}'` };

  const extra: NamedRequest[] = [];
  for (const arg of (values.requests as string[] | undefined) ?? []) extra.push(...readRequests(arg));
  const sides: Side[] = [];
  for (const arg of positionals) {
    const side = await loadSide(arg);
    if ('errors' in side) return { stderr: side.errors.join('\n'), exitCode: 2 };
    sides.push(side);
  }
  const [before, after] = sides as [Side, Side];

  const requests = new Map<string, NamedRequest>();
  for (const r of [...before.requests, ...after.requests, ...extra])
    requests.set(`${r.request.policy}\n${r.name}`, r);
  const names = [...new Set([...before.plans.keys(), ...after.plans.keys()])].sort();
  const policies: PolicyDiff[] = names.map((name) => {
    const a = before.plans.get(name);
    const b = after.plans.get(name);
    const side = (plan: Plan | undefined, s: Side): PolicyDiff['old'] =>
      plan === undefined ? null : { hash: plan.hash, source: s.sources.get(name) ?? s.label };
    const result: PolicyDiff = {
      policy: name,
      status:
        a === undefined ? 'added' : b === undefined ? 'removed' : a.hash === b.hash ? 'unchanged' : 'changed',
      old: side(a, before),
      new: side(b, after),
      changes: a !== undefined && b !== undefined && a.hash !== b.hash ? diffPlans(a, b) : [],
      requests: 0,
      reroutes: [],
    };
    if (a !== undefined && b !== undefined && a.hash !== b.hash) {
      for (const r of requests.values()) {
        if (r.request.policy !== name) continue;
        result.requests++;
        const reroute = compare(r, a, b);
        if (reroute !== null) result.reroutes.push(reroute);
      }
    }
    return result;
  });
  const equal = policies.every((p) => p.status === 'unchanged');
  const exitCode = equal ? 0 : 1;
  if (format === 'json') {
    const json = {
      equal,
      policies: policies.map((p) => ({
        ...p,
        old: p.old && { ...p.old, source: displayPath(p.old.source) },
        new: p.new && { ...p.new, source: displayPath(p.new.source) },
      })),
    };
    return { stdout: JSON.stringify(json, null, 2), exitCode };
  }
  return { stdout: diffText(policies), exitCode };
}

function diffText(policies: PolicyDiff[]): string {
  const lines: string[] = [];
  for (const p of policies) {
    if (p.status === 'added') {
      lines.push(`policy ${p.policy}: added (${p.new!.hash}, ${displayPath(p.new!.source)})`);
      continue;
    }
    if (p.status === 'removed') {
      lines.push(`policy ${p.policy}: removed (was ${p.old!.hash}, ${displayPath(p.old!.source)})`);
      continue;
    }
    if (p.status === 'unchanged') {
      lines.push(`policy ${p.policy}: unchanged (${p.new!.hash})`);
      continue;
    }
    lines.push(
      `policy ${p.policy}: changed`,
      `  old ${p.old!.hash}  ${displayPath(p.old!.source)}`,
      `  new ${p.new!.hash}  ${displayPath(p.new!.source)}`,
    );
    for (const change of p.changes) lines.push(`  ${change.text}`);
    if (p.changes.length === 0) lines.push('  (the plans differ only in what this diff does not describe)');
    if (p.requests === 0) {
      lines.push('  no requests to re-decide: add test blocks, or --requests FILE|DIR');
    } else if (p.reroutes.length === 0) {
      lines.push(`  none of the ${p.requests} requests (tests, --requests) changes route, model or outcome`);
    } else {
      lines.push(`  requests that change (${p.reroutes.length} of ${p.requests}):`);
      for (const r of p.reroutes) lines.push(`    ${r.request} (${r.source}): ${r.text}`);
    }
  }
  const count = (status: PolicyDiff['status']): number => policies.filter((p) => p.status === status).length;
  lines.push(
    `${count('changed')} changed, ${count('added')} added, ${count('removed')} removed, ${count('unchanged')} unchanged`,
  );
  return lines.join('\n');
}

/** The request decided and run (simulated) under both plans; `null` when nothing a caller sees changed. */
function compare(r: NamedRequest, a: Plan, b: Plan): Reroute | null {
  const before = outcomeOf(simulate(a, r.request, r.given).result);
  const after = outcomeOf(simulate(b, r.request, r.given).result);
  const parts: string[] = [];
  if (before.status !== after.status) {
    const how = (o: Outcome): string =>
      o.status === 'served' ? 'served' : `${o.status}${o.reason === null ? '' : ` (${o.reason})`}`;
    parts.push(`${how(before)} → ${how(after)}`);
  } else if (before.status !== 'served' && before.reason !== after.reason) {
    parts.push(`${before.status}: "${before.reason ?? ''}" → "${after.reason ?? ''}"`);
  }
  if (before.route !== after.route) parts.push(`route ${before.route ?? 'none'} → ${after.route ?? 'none'}`);
  if (before.model !== after.model) parts.push(`model ${before.model ?? 'none'} → ${after.model ?? 'none'}`);
  if (parts.length === 0) return null;
  return { request: r.name, source: r.source, before, after, text: parts.join('; ') };
}

function outcomeOf(result: InferenceResult): Outcome {
  return { status: result.status, route: result.route, model: result.model, reason: result.reason };
}

// ---------------------------------------------------------------------------------------------
// Inputs

async function loadSide(arg: string): Promise<Side | { errors: string[] }> {
  if (!fs.existsSync(arg)) throw new CliError('E-DIFF-INPUT', `no such file or directory: ${arg}`, 2);
  if (arg.endsWith('.json') && fs.statSync(arg).isFile()) {
    const plan = readPlanFile(arg);
    return {
      label: arg,
      plans: new Map([[plan.name, plan]]),
      sources: new Map([[plan.name, path.resolve(arg)]]),
      requests: [],
    };
  }
  let compiled;
  try {
    compiled = await compileFiles([arg]);
  } catch (error) {
    if (error instanceof SourceError) throw new CliError(error.code, error.message, 2);
    throw error;
  }
  if (compiled.errors.length > 0) return { errors: compiled.errors };
  const sources = new Map<string, string>();
  const roots = new Set<string>();
  for (const doc of compiled.workspace.roots) {
    roots.add(doc.uri.fsPath);
    for (const policy of doc.parseResult.value.policies) sources.set(policy.name, doc.uri.fsPath);
  }
  const { tests, errors } = compileTests(compiled.workspace);
  if (errors.length > 0) {
    const e = errors[0]!;
    throw new CliError(e.code, `${displayPath(e.file)}:${e.line}:${e.column}: ${e.message}`, 2);
  }
  const requests: NamedRequest[] = tests
    .filter((t) => roots.has(path.resolve(t.file)))
    .map((t) => ({
      name: `test "${t.name}"`,
      source: `${displayPath(t.file)}:${t.line}`,
      request: t.request,
      given: t.given,
    }));
  return { label: arg, plans: compiled.plans, sources, requests };
}

/** A compiled plan: JSON, valid against plan/plan.schema.json; errors name the file and position. */
function readPlanFile(file: string): Plan {
  const text = fs.readFileSync(file, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const at = /position (\d+)/.exec(message);
    // V8 names the position, except when the text ends too early: then the error is at its end.
    const offset = at ? Number(at[1]) : /end of JSON input/.test(message) ? text.length : 0;
    const before = text.slice(0, offset).split('\n');
    const where = `${displayPath(file)}:${before.length}:${before.at(-1)!.length + 1}`;
    throw new CliError(
      'E-DIFF-JSON',
      `${where}: not valid JSON: ${message.replace(/ in JSON at position.*$/s, '')}`,
      2,
    );
  }
  const validation = validatePlan(json);
  if (!validation.ok) {
    throw new CliError(
      'E-DIFF-PLAN',
      `${displayPath(file)}:1:1: not a Switchyard plan (plan/plan.schema.json): ${validation.errors.slice(0, 3).join('; ')}`,
      2,
    );
  }
  const plan = json as Plan;
  const hash = hashPlan(plan);
  if (hash !== plan.hash) {
    throw new CliError(
      'E-DIFF-PLAN',
      `${displayPath(file)}:1:1: the plan's hash ${plan.hash} is not the hash of its content (${hash}): was it edited by hand? Compile it again`,
      2,
    );
  }
  return plan;
}

function readRequests(arg: string): NamedRequest[] {
  if (!fs.existsSync(arg)) throw new CliError('E-DIFF-INPUT', `no such file or directory: ${arg}`, 2);
  const files = fs.statSync(arg).isDirectory()
    ? fs
        .readdirSync(arg)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(arg, f))
    : [arg];
  return files.map((file) => {
    let request: InferenceRequest;
    try {
      request = readRequestFile(file);
    } catch (error) {
      if (error instanceof CliError || error instanceof InvalidRequest)
        throw new CliError(error.code, `${displayPath(file)}: ${error.message}`, 2);
      throw error;
    }
    return { name: `request ${displayPath(file)}`, source: displayPath(file), request, given: {} };
  });
}
