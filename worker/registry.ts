/**
 * The worker's plan registry: compiles a policies directory, keeps every plan it ever loaded by
 * hash (running requests keep the plan that decided them) and the current plan of each policy
 * (new requests get it), and recompiles when the directory changes.
 *
 * A directory with errors is refused at start (`PolicyErrors`, one `file:line:col: error CODE
 * message` line each); after start, a change that introduces errors is reported and ignored: the
 * plans loaded before stay current.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadedPlan, PlanLookup } from '../activities/plans.js';
import { compileWorkspace, validatePlan } from '../dsl/compiler/index.js';
import { loadWorkspace, policyFilesIn, SourceError } from '../dsl/workspace.js';
import type { Plan } from '../plan/types.js';

/** The policies do not compile; `errors` are ready to print. */
export class PolicyErrors extends Error {
  readonly code = 'E-POLICIES';
  constructor(
    readonly dir: string,
    readonly errors: string[],
  ) {
    super(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${dir}:\n${errors.join('\n')}`);
    this.name = 'PolicyErrors';
  }
}

export interface RegisteredPlan extends LoadedPlan {
  /** When this plan became current (epoch ms). */
  loadedAt: number;
}

export interface ReloadResult {
  ok: boolean;
  errors: string[];
  /** Policies new, changed (a new hash) or gone since the previous load. */
  added: string[];
  changed: string[];
  removed: string[];
}

export interface WatchOptions {
  /** Quiet time after the last change before recompiling. @default 200 */
  debounceMs?: number;
  /** Called after each recompile. */
  onReload?: (result: ReloadResult) => void;
}

// Langium's workspace is one per process and `loadWorkspace` replaces its documents: compile one
// directory at a time, whoever asks.
let compiling: Promise<unknown> = Promise.resolve();

export class PlanRegistry implements PlanLookup {
  private readonly hashes = new Map<string, RegisteredPlan>();
  private currents = new Map<string, RegisteredPlan>();
  private readonly listeners = new Set<(result: ReloadResult) => void>();
  private reloading: Promise<ReloadResult> | undefined;
  private again = false;

  private constructor(readonly dir: string) {}

  /** Compiles `dir`; throws {@link PolicyErrors} when it has errors or no policy. */
  static async load(dir: string): Promise<PlanRegistry> {
    const registry = new PlanRegistry(path.resolve(dir));
    const result = await registry.reload();
    if (!result.ok) throw new PolicyErrors(dir, result.errors);
    return registry;
  }

  current(policy: string): RegisteredPlan | undefined {
    return this.currents.get(policy);
  }

  byHash(hash: string): RegisteredPlan | undefined {
    return this.hashes.get(hash);
  }

  policyNames(): string[] {
    return [...this.currents.keys()].sort();
  }

  /** The current plans, by policy name. */
  plans(): RegisteredPlan[] {
    return this.policyNames().map((name) => this.currents.get(name)!);
  }

  /** Every plan loaded so far (current and superseded). */
  allPlans(): RegisteredPlan[] {
    return [...this.hashes.values()];
  }

  /** Called after every reload that changed something. */
  onChange(listener: (result: ReloadResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Recompiles the directory. On success the new plans become current (old ones stay reachable by
   * hash); on errors nothing changes. Concurrent calls share one compile, plus one more if a call
   * came in while it ran.
   */
  reload(): Promise<ReloadResult> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    const run = async (): Promise<ReloadResult> => {
      let result: ReloadResult;
      do {
        this.again = false;
        result = await this.compileOnce();
      } while (this.again);
      return result;
    };
    this.reloading = run().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Recompiles whenever something under the directory changes; returns a function that stops. */
  watch(options: WatchOptions = {}): () => void {
    const debounceMs = options.debounceMs ?? 200;
    let timer: NodeJS.Timeout | undefined;
    const fire = () => {
      timer = undefined;
      this.reload().then(
        (result) => options.onReload?.(result),
        (err: unknown) =>
          options.onReload?.({
            ok: false,
            errors: [String(err instanceof Error ? err.message : err)],
            added: [],
            changed: [],
            removed: [],
          }),
      );
    };
    let watcher: fs.FSWatcher;
    try {
      watcher = fs.watch(this.dir, { recursive: true }, () => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(fire, debounceMs);
      });
    } catch (err) {
      throw new PolicyErrors(this.dir, [`cannot watch ${this.dir}: ${(err as Error).message}`]);
    }
    watcher.on('error', () => undefined);
    return () => {
      if (timer) clearTimeout(timer);
      watcher.close();
    };
  }

  private async compileOnce(): Promise<ReloadResult> {
    const compiled = compiling.then(() => compileDirectory(this.dir));
    compiling = compiled.catch(() => undefined);
    const { plans, errors } = await compiled;
    if (errors.length > 0) return { ok: false, errors, added: [], changed: [], removed: [] };

    const now = Date.now();
    const next = new Map<string, RegisteredPlan>();
    const result: ReloadResult = { ok: true, errors: [], added: [], changed: [], removed: [] };
    for (const { plan, baseDir } of plans) {
      const before = this.currents.get(plan.name);
      const known = this.hashes.get(plan.hash);
      const entry = known ?? { plan, baseDir, loadedAt: now };
      this.hashes.set(plan.hash, entry);
      next.set(plan.name, entry);
      if (before === undefined) result.added.push(plan.name);
      else if (before.plan.hash !== plan.hash) result.changed.push(plan.name);
    }
    for (const name of this.currents.keys()) if (!next.has(name)) result.removed.push(name);
    this.currents = next;
    if (result.added.length + result.changed.length + result.removed.length > 0) {
      for (const listener of this.listeners) listener(result);
    }
    return result;
  }
}

/** Loads, validates and compiles every policy of `dir` (and what it imports); errors as printable lines. */
async function compileDirectory(dir: string): Promise<{ plans: LoadedPlan[]; errors: string[] }> {
  let files: string[];
  try {
    files = policyFilesIn(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : code;
    return { plans: [], errors: [`${displayPath(dir)}: error E-POLICIES-DIR ${why ?? 'cannot read'}`] };
  }
  if (files.length === 0) {
    return { plans: [], errors: [`${displayPath(dir)}: error E-POLICIES-EMPTY no .policy files`] };
  }

  let workspace: Awaited<ReturnType<typeof loadWorkspace>>;
  try {
    workspace = await loadWorkspace(files);
  } catch (err) {
    if (err instanceof SourceError) {
      return { plans: [], errors: [`${displayPath(err.file)}: error ${err.code} ${err.message}`] };
    }
    throw err;
  }
  const compiled = compileWorkspace(workspace);
  const errors = compiled.errors.map(
    (e) => `${displayPath(e.file)}:${e.line}:${e.column}: error ${e.code} ${e.message}`,
  );
  if (errors.length > 0) return { plans: [], errors };

  const dirOf = new Map<string, string>();
  for (const document of workspace.documents) {
    for (const policy of document.parseResult.value.policies) {
      if (!dirOf.has(policy.name)) dirOf.set(policy.name, path.dirname(document.uri.fsPath));
    }
  }
  const plans: LoadedPlan[] = [];
  for (const plan of compiled.plans.values()) {
    const check = validatePlan(plan);
    if (!check.ok) {
      errors.push(...check.errors.map((e) => `policy ${plan.name}: error E-PLAN-SCHEMA ${e}`));
      continue;
    }
    plans.push({ plan: plan as Plan, baseDir: dirOf.get(plan.name) ?? dir });
  }
  if (plans.length === 0 && errors.length === 0) {
    errors.push(`${displayPath(dir)}: error E-POLICIES-EMPTY no policy blocks in ${files.length} file(s)`);
  }
  return { plans: errors.length > 0 ? [] : plans, errors };
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
