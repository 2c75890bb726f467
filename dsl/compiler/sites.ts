/**
 * Where each coverage site of a plan (plan/coverage.ts) is written: the policy's AST walked in
 * the compiler's order, so `route:chat/when/1` is the second operand of that route's `and`/`or`
 * as the plan has it (conditions.ts `flatten`), `rate-limit:rate-limit-2` the second unnamed one.
 */
import type { AstNode } from 'langium';
import * as ast from '../generated/ast.js';
import { flatten } from './conditions.js';

export interface SourceSite {
  file: string;
  /** 1-based. */
  line: number;
  column: number;
}

/** Every coverage site of `policy`, by site. */
export function coverageSites(policy: ast.Policy): Map<string, SourceSite> {
  const file = policy.$container.$document?.uri.fsPath ?? '';
  const sites = new Map<string, SourceSite>();
  const put = (site: string, node: AstNode | undefined): void => {
    const start = node?.$cstNode?.range.start;
    if (start !== undefined) sites.set(site, { file, line: start.line + 1, column: start.character + 1 });
  };
  const items = policy.items;
  for (const route of items.filter(ast.isRoute)) {
    const site = `route:${route.name}`;
    put(site, route);
    conditionSites(route.when, `${site}/when`, put);
    let fallback = 0;
    let escalation = 0;
    for (const item of route.items) {
      if (ast.isUse(item)) put(`${site}/primary`, item);
      else if (ast.isSplit(item)) item.targets.forEach((target, i) => put(`${site}/split/${i}`, target));
      else if (ast.isFallback(item)) put(`${site}/fallback/${fallback++}`, item);
      else if (ast.isEscalate(item)) put(`${site}/escalate/${escalation++}`, item);
    }
  }
  items.filter(ast.isRequire).forEach((rule, i) => {
    put(`require:${i}`, rule);
    if (rule.when !== undefined) conditionSites(rule.when, `require:${i}/when`, put);
  });
  for (const guard of items.filter(ast.isGuard)) put(`guard:${guard.name}`, guard);
  for (const budget of items.filter(ast.isBudget)) {
    put(`budget:${budget.name}`, budget.items.find(ast.isBudgetExceed) ?? budget);
  }
  items.filter(ast.isRateLimit).forEach((limit, i) => {
    put(`rate-limit:${limit.name ?? `rate-limit-${i + 1}`}`, limit.items.find(ast.isRateExceed) ?? limit);
  });
  put('otherwise', items.find(ast.isOtherwise));
  return sites;
}

function conditionSites(
  cond: ast.Condition,
  site: string,
  put: (site: string, node: AstNode | undefined) => void,
): void {
  if (ast.isTrueCondition(cond)) return;
  put(site, cond);
  descend(cond, site, put);
}

function descend(
  cond: ast.Condition,
  site: string,
  put: (site: string, node: AstNode | undefined) => void,
): void {
  if (ast.isNotCondition(cond)) descend(cond.operand, `${site}/not`, put);
  else if (ast.isBinaryCondition(cond))
    flatten(cond).forEach((operand, i) => conditionSites(operand, `${site}/${i}`, put));
}
