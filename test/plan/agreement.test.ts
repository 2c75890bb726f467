/**
 * The hover, the validator and the runtime agree on every route of every example policy: the
 * editor reads the AST of a file being edited, the runtime reads the compiled plan, and both must
 * come to the same calls (timeouts, retries, backoff, max-tokens, prices, contexts), the same
 * worst-case cost per request and the same slowest path through the chain — which is what the
 * validator's deadline warning (SY056) compares the deadline with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileWorkspace } from '../../dsl/compiler/index.js';
import { type Document, type Route, isRoute } from '../../dsl/generated/ast.js';
import {
  TYPICAL_INPUT_TOKENS,
  routeChainOf,
  routeCostAt,
  routeLatency,
  routeWorstCost,
} from '../../dsl/lsp/costs.js';
import { IssueCodes } from '../../dsl/validation/issue-codes.js';
import { loadWorkspace } from '../../dsl/workspace.js';
import {
  type ChainEntry,
  type Plan,
  routeChain,
  routeCostAt as planRouteCostAt,
  routeWorstCost as planRouteWorstCost,
  slowestPath,
} from '../../plan/index.js';

const EXAMPLES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples');

function policyFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? policyFiles(path.join(dir, entry.name))
        : entry.name.endsWith('.policy')
          ? [path.join(dir, entry.name)]
          : [],
    )
    .sort();
}

/** What a call does, as both sides see it (the plan side also knows queues and provider ids). */
function call(entry: ChainEntry): Record<string, unknown> {
  const { model, role, provider, private: isPrivate, timeoutMs, retries, backoffMs, maxTokens } = entry;
  return {
    model,
    role,
    provider,
    isPrivate,
    timeoutMs,
    retries,
    backoffMs,
    maxTokens,
    context: entry.context,
    price: entry.price,
  };
}

interface RouteCase {
  file: string;
  policy: string;
  route: Route;
  plan: Plan;
  /** The deadline warnings the validator gave for this route's `deadline`. */
  deadlineWarnings: { worstCaseMs: unknown }[];
}

async function routesOf(file: string): Promise<RouteCase[]> {
  const ws = await loadWorkspace([file]);
  const compiled = compileWorkspace(ws);
  expect(compiled.errors, `${file} compiles`).toEqual([]);
  const root = ws.roots[0]!;
  const deadlineWarnings = (root.diagnostics ?? []).filter((d) => d.code === IssueCodes.DeadlineTooShort);
  return (root.parseResult.value as Document).policies.flatMap((policy) =>
    policy.items.filter(isRoute).map((route) => ({
      file: path.relative(EXAMPLES, file),
      policy: policy.name,
      route,
      plan: compiled.plans.get(policy.name)!,
      deadlineWarnings: deadlineWarnings
        .filter((d) => {
          const line = d.range.start.line + 1;
          const { start, end } = route.$cstNode!.range;
          return line >= start.line + 1 && line <= end.line + 1;
        })
        .map((d) => ({ worstCaseMs: (d.data as { worstCaseMs?: unknown }).worstCaseMs })),
    })),
  );
}

const files = policyFiles(EXAMPLES);

describe('the hover, the validator and the runtime', () => {
  it('find example policies with routes to compare', async () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    const all = (await Promise.all(files.map(routesOf))).flat();
    expect(all.length).toBeGreaterThanOrEqual(3);
  });

  for (const file of files) {
    it(`agree on every route of examples/${path.relative(EXAMPLES, file)}`, async () => {
      const cases = await routesOf(file);
      for (const { policy, route, plan, deadlineWarnings } of cases) {
        const where = `${policy}/${route.name}`;
        const compiledRoute = plan.routes.find((r) => r.name === route.name);
        expect(compiledRoute, where).toBeDefined();
        // The runtime's chain: the evaluator's own entries for the compiled route.
        const runtime = routeChain(plan, compiledRoute!);
        const editor = routeChainOf(route);

        // The same calls, with the same defaults applied.
        for (const role of ['primaries', 'fallbacks', 'escalations'] as const) {
          expect(editor[role].map(call), `${where} ${role}`).toEqual(runtime[role].map(call));
        }

        // The hover's worst-case cost per request, and at a typical prompt, are the runtime's.
        expect(routeWorstCost(route), `${where} worst-case cost`).toEqual(planRouteWorstCost(runtime));
        expect(routeCostAt(route, TYPICAL_INPUT_TOKENS), `${where} typical cost`).toEqual(
          planRouteCostAt(runtime, TYPICAL_INPUT_TOKENS),
        );

        // The hover's worst-case latency is the runtime's slowest path through the chain.
        const slowest = slowestPath(runtime)!;
        const latency = routeLatency(route)!;
        expect(latency.worstMs, `${where} worst-case latency`).toBe(slowest.totalMs);
        expect(latency.deadlineMs ?? null, `${where} deadline`).toBe(compiledRoute!.deadlineMs);

        // The validator warns exactly when the compiled deadline is shorter than that path.
        const tooShort = compiledRoute!.deadlineMs !== null && compiledRoute!.deadlineMs < slowest.totalMs;
        expect(deadlineWarnings, `${where} deadline warning`).toEqual(
          tooShort ? [{ worstCaseMs: slowest.totalMs }] : [],
        );
      }
    });
  }
});
