/**
 * `switchyard test --coverage`: the report of plan/coverage.ts's items, placed in the source by
 * dsl/compiler/sites.ts, as text, JSON or lcov (docs/what-if.md).
 */
import type { SourceSite } from '../dsl/compiler/index.js';
import { coverageItems, coverageTotals } from '../plan/coverage.js';
import type { CoverageHits, CoverageKind } from '../plan/coverage.js';
import type { Plan } from '../plan/types.js';
import { displayPath } from './output.js';

export interface CoveredItem {
  policy: string;
  file: string;
  line: number;
  column: number;
  kind: CoverageKind;
  /** Where in the plan (plan/coverage.ts). */
  site: string;
  label: string;
  /** For conditions: the outcome this item stands for. */
  outcome?: boolean;
  hits: number;
}

export interface CoverageReport {
  items: number;
  covered: number;
  percent: number;
  policies: { policy: string; plan: string; file: string; items: number; covered: number; percent: number }[];
  /** Every item, by file then position. */
  all: CoveredItem[];
}

/** The report for `plans` (with the sites of their policies), from the hits of the tests. */
export function coverageReport(
  plans: readonly Plan[],
  sites: Map<string, Map<string, SourceSite>>,
  hits: Map<string, CoverageHits>,
): CoverageReport {
  const all: CoveredItem[] = [];
  const policies: CoverageReport['policies'] = [];
  for (const plan of plans) {
    const items = coverageItems(plan);
    const planHits = hits.get(plan.name) ?? new Map<string, number>();
    const where = sites.get(plan.name) ?? new Map<string, SourceSite>();
    const totals = coverageTotals(items, planHits);
    let file = '';
    for (const item of items) {
      const site = where.get(item.site);
      file ||= site?.file ?? '';
      all.push({
        policy: plan.name,
        file: site?.file ?? '',
        line: site?.line ?? 0,
        column: site?.column ?? 0,
        kind: item.kind,
        site: item.site,
        label: item.label,
        ...(item.outcome === undefined ? {} : { outcome: item.outcome }),
        hits: planHits.get(item.id) ?? 0,
      });
    }
    policies.push({ policy: plan.name, plan: plan.hash, file, ...totals });
  }
  all.sort((a, b) =>
    a.file !== b.file ? (a.file < b.file ? -1 : 1) : a.line - b.line || a.column - b.column,
  );
  const items = all.length;
  const covered = all.filter((item) => item.hits > 0).length;
  return { items, covered, percent: items === 0 ? 100 : (covered / items) * 100, policies, all };
}

/** Whether `report` reaches `min` percent (exactly: 100 means every item). */
export function meetsMinimum(report: CoverageReport, min: number): boolean {
  return report.covered * 100 >= min * report.items;
}

export function percentText(percent: number): string {
  return `${round(percent).toFixed(1)}%`;
}

/** The text report: totals per policy, then every uncovered item at file:line:col. */
export function coverageText(report: CoverageReport): string {
  const lines = [`coverage: ${report.covered} of ${report.items} items (${percentText(report.percent)})`];
  for (const p of report.policies) {
    lines.push(
      `  policy ${p.policy} (${displayPath(p.file)}): ${p.covered} of ${p.items} (${percentText(p.percent)})`,
    );
  }
  const uncovered = report.all.filter((item) => item.hits === 0);
  if (uncovered.length > 0) lines.push('not covered:');
  for (const item of uncovered) {
    lines.push(`  ${displayPath(item.file)}:${item.line}:${item.column}: ${item.label}`);
  }
  return lines.join('\n');
}

/** The JSON report (`--format json`'s `coverage`). */
export function coverageJson(report: CoverageReport): unknown {
  return {
    items: report.items,
    covered: report.covered,
    percent: round(report.percent),
    policies: report.policies.map((p) => ({ ...p, file: displayPath(p.file), percent: round(p.percent) })),
    uncovered: report.all.filter((item) => item.hits === 0).map((item) => itemJson(item)),
    all: report.all.map((item) => itemJson(item)),
  };
}

/** Rounded down to a tenth, as the text says it: 100 only when every item is covered. */
function round(percent: number): number {
  return Math.floor(percent * 10) / 10;
}

function itemJson(item: CoveredItem): unknown {
  return { ...item, file: displayPath(item.file) };
}

/**
 * lcov (geninfo's tracefile format: SF, BRDA, BRF, BRH, DA, LF, LH, end_of_record per file): a line (DA) per route, chain entry, guard, `require`,
 * `on-exceed` and `otherwise`, the least-hit item of a line giving its count; a branch pair (BRDA,
 * 0 = true, 1 = false) per condition and operand, `-` when it was never evaluated.
 */
export function coverageLcov(report: CoverageReport): string {
  const out: string[] = [];
  const files = [...new Set(report.all.map((item) => item.file))];
  for (const file of files) {
    const items = report.all.filter((item) => item.file === file);
    const lines = new Map<number, number>();
    for (const item of items) {
      if (item.kind === 'condition') continue;
      const before = lines.get(item.line);
      lines.set(item.line, before === undefined ? item.hits : Math.min(before, item.hits));
    }
    out.push('TN:', `SF:${displayPath(file)}`);
    const points: { line: number; site: string; taken: [number, number] }[] = [];
    const bySite = new Map<string, { line: number; site: string; taken: [number, number] }>();
    for (const item of items) {
      if (item.kind !== 'condition') continue;
      const key = `${item.policy}\n${item.site}`;
      let point = bySite.get(key);
      if (point === undefined) {
        point = { line: item.line, site: item.site, taken: [0, 0] };
        bySite.set(key, point);
        points.push(point);
      }
      point.taken[item.outcome ? 0 : 1] = item.hits;
    }
    let branches = 0;
    let hit = 0;
    points.forEach((point, block) => {
      const evaluated = point.taken[0] + point.taken[1] > 0;
      point.taken.forEach((taken, branch) => {
        out.push(`BRDA:${point.line},${block},${branch},${evaluated ? taken : '-'}`);
        branches++;
        if (taken > 0) hit++;
      });
    });
    out.push(`BRF:${branches}`, `BRH:${hit}`);
    for (const [line, hits] of [...lines].sort((a, b) => a[0] - b[0])) out.push(`DA:${line},${hits}`);
    out.push(`LF:${lines.size}`, `LH:${[...lines.values()].filter((h) => h > 0).length}`, 'end_of_record');
  }
  return out.join('\n');
}
