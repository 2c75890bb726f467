/**
 * Routes (docs/language.md §4.6): splits that sum to 100%, `max-tokens` within the context,
 * routes that can match, an `otherwise`, chains that `require` does not empty, deadlines the chain
 * can meet, fallbacks that are not the primary, models that have the capability matched on, and
 * batch routes that run durable (execution.ts).
 */
import type { AstNode, ValidationAcceptor, ValidationChecks } from 'langium';
import {
  type Model,
  type Policy,
  type Require,
  type Route,
  type SwitchyardAstType,
  isEscalate,
  isOtherwise,
  isRequire,
  isRoute,
  isSplit,
  isUse,
} from '../generated/ast.js';
import { tokensText } from '../../plan/index.js';
import {
  formatDuration,
  isPrivateProvider,
  modelCapabilities,
  modelContext,
  providerOf,
  providerRegion,
} from './catalog-facts.js';
import {
  canonical,
  disjunctiveSets,
  neverBoth,
  requiredCapabilities,
  sourceText,
} from './condition-facts.js';
import { checkBatchDirect } from './execution.js';
import { IssueCodes } from './issue-codes.js';
import { hasSyntaxError } from '../parser/syntax-state.js';
import {
  allTargets,
  describeSlowestPath,
  escalationTargets,
  fallbackTargets,
  primaryOf,
  primaryTargets,
  routeSlowestPath,
} from './route-facts.js';

function routesOf(policy: Policy): Route[] {
  return policy.items.filter(isRoute);
}

/** The models a `max-tokens` option applies to: its target, or every target of its split. */
function optionModels(option: AstNode): Model[] {
  const holder = option.$container;
  if (!holder) return [];
  if (isSplit(holder)) return holder.targets.flatMap((t) => (t.model?.ref ? [t.model.ref] : []));
  const model = (holder as { model?: { ref?: Model } }).model?.ref;
  return model ? [model] : [];
}

// ---------------------------------------------------------------------------------------------
// Unreachable routes

interface EarlierRoute {
  route: Route;
  /** The route's condition as a disjunction of conjunct sets. */
  disjuncts: Set<string>[];
  text: string;
}

/**
 * Finds, for each route, an earlier route whose condition covers it: every disjunct of the later
 * condition contains (as a set of normalised conjuncts) some disjunct of the earlier one. Earlier
 * disjuncts are indexed by their rarest conjunct, so a policy with thousands of routes stays fast.
 */
function checkUnreachable(policy: Policy, accept: ValidationAcceptor): void {
  const routes = routesOf(policy).filter((r) => r.when);
  const frequency = new Map<string, number>();
  const sets = new Map<Route, Set<string>[]>();
  for (const route of routes) {
    const disjuncts = disjunctiveSets(route.when);
    sets.set(route, disjuncts);
    for (const d of disjuncts) for (const c of d) frequency.set(c, (frequency.get(c) ?? 0) + 1);
  }
  let always: EarlierRoute | undefined;
  const byKey = new Map<string, { earlier: EarlierRoute; set: Set<string> }[]>();
  const identical = new Map<string, EarlierRoute>();
  for (const route of routes) {
    const disjuncts = sets.get(route)!;
    const text = canonical(route.when);
    const earlier = always ?? identical.get(text) ?? findCover(disjuncts, byKey);
    if (earlier) {
      const reason =
        earlier === always
          ? `route '${earlier.route.name}' before it matches every request (when ${sourceText(earlier.route.when)})`
          : canonical(earlier.route.when) === text
            ? `route '${earlier.route.name}' before it has the same condition (${sourceText(earlier.route.when)})`
            : `every request it matches is taken by route '${earlier.route.name}' before it (when ${sourceText(earlier.route.when)})`;
      accept('warning', `route '${route.name}' can never match: ${reason}`, {
        node: route,
        property: 'name',
        code: IssueCodes.UnreachableRoute,
        data: { code: IssueCodes.UnreachableRoute, route: route.name, coveredBy: earlier.route.name },
      });
      continue;
    }
    const entry: EarlierRoute = { route, disjuncts, text };
    if (text === 'true') always = entry;
    if (!identical.has(text)) identical.set(text, entry);
    for (const set of disjuncts) {
      let key = '';
      let best = Infinity;
      for (const c of set) {
        const f = frequency.get(c) ?? 0;
        if (f < best) [best, key] = [f, c];
      }
      const bucket = byKey.get(key);
      if (bucket) bucket.push({ earlier: entry, set });
      else byKey.set(key, [{ earlier: entry, set }]);
    }
  }
}

function findCover(
  disjuncts: Set<string>[],
  byKey: Map<string, { earlier: EarlierRoute; set: Set<string> }[]>,
): EarlierRoute | undefined {
  if (disjuncts.length === 0) return undefined;
  let candidate: EarlierRoute | undefined;
  for (const later of disjuncts) {
    let found: EarlierRoute | undefined;
    for (const conjunct of ['', ...later]) {
      for (const { earlier, set } of byKey.get(conjunct) ?? []) {
        if ([...set].every((c) => later.has(c))) {
          found = earlier;
          break;
        }
      }
      if (found) break;
    }
    if (!found) return undefined;
    // Several earlier routes may cover different disjuncts; name the last one needed.
    if (!candidate || routeIndex(found.route) > routeIndex(candidate.route)) candidate = found;
  }
  return candidate;
}

function routeIndex(route: Route): number {
  return route.$containerIndex ?? 0;
}

// ---------------------------------------------------------------------------------------------
// require leaving a chain empty

function removedBy(require: Require, model: Model): boolean {
  const provider = providerOf(model);
  if (!provider) return false;
  if (require.kind === 'private') return !isPrivateProvider(provider);
  return providerRegion(provider) !== require.region;
}

function checkRequires(policy: Policy, accept: ValidationAcceptor): void {
  const requires = policy.items.filter(isRequire);
  if (requires.length === 0) return;
  for (const route of routesOf(policy)) {
    // The models that can serve: the primary (any split pick) and the fallbacks. Escalations
    // only run after an answer, so they cannot keep the chain alive.
    const targets = [...primaryTargets(route), ...fallbackTargets(route)];
    if (targets.length === 0 || targets.some((t) => !t.model?.ref || !providerOf(t.model.ref))) continue;
    for (const require of requires) {
      if (!targets.every((t) => removedBy(require, t.model.ref!))) continue;
      if (neverBoth(route.when, require.when)) continue;
      const what = require.kind === 'private' ? 'no private model' : `no model in region "${require.region}"`;
      const who = require.when
        ? `requests with ${sourceText(require.when)} will be refused`
        : 'every request it matches will be refused';
      accept('warning', `route '${route.name}' has ${what}: ${who} (${sourceText(require, 80)})`, {
        node: route,
        property: 'name',
        code: IssueCodes.RequireEmptiesChain,
        data: {
          code: IssueCodes.RequireEmptiesChain,
          route: route.name,
          require: require.kind,
          region: require.region,
          models: targets.map((t) => t.model.$refText),
        },
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------

export function routeChecks(): ValidationChecks<SwitchyardAstType> {
  return {
    Policy: [
      checkUnreachable,
      checkRequires,
      (policy, accept) => {
        if (policy.items.some(isOtherwise) || hasSyntaxError(policy)) return;
        if (routesOf(policy).some((r) => r.when && canonical(r.when) === 'true')) return;
        accept(
          'warning',
          `policy '${policy.name}' has no otherwise: a request no route matches is rejected with a default message`,
          {
            node: policy,
            property: 'name',
            code: IssueCodes.NoOtherwise,
            data: { code: IssueCodes.NoOtherwise, policy: policy.name },
          },
        );
      },
    ],
    Split: (split, accept) => {
      if (split.targets.some((t) => typeof t.weight !== 'number')) return;
      const sum = split.targets.reduce((total, t) => total + t.weight, 0);
      if (sum === 100) return;
      const route = split.$container;
      accept('error', `split of route '${route.name}' sums to ${sum}%, expected 100%`, {
        node: split,
        code: IssueCodes.SplitNotHundred,
        data: { code: IssueCodes.SplitNotHundred, sum, missing: 100 - sum },
      });
    },
    MaxTokensOption: (option, accept) => {
      if (typeof option.value !== 'number') return;
      const over = optionModels(option).filter((m) => {
        const context = modelContext(m);
        return context !== undefined && option.value > context;
      });
      if (over.length === 0) return;
      const list = over.map((m) => `'${m.name}' (${tokensText(modelContext(m)!)})`).join(', ');
      accept(
        'error',
        `max-tokens ${tokensText(option.value)} is above the context of model${over.length > 1 ? 's' : ''} ${list}`,
        {
          node: option,
          property: 'value',
          code: IssueCodes.MaxTokensAboveContext,
          data: {
            code: IssueCodes.MaxTokensAboveContext,
            maxTokens: option.value,
            context: Math.min(...over.map((m) => modelContext(m)!)),
          },
        },
      );
    },
    Deadline: (deadline, accept) => {
      const route = deadline.$container;
      if (typeof deadline.value !== 'number') return;
      if (allTargets(route).some((t) => !t.model?.ref)) return;
      const worst = routeSlowestPath(route);
      if (!worst || deadline.value >= worst.totalMs) return;
      accept(
        'warning',
        `deadline ${formatDuration(deadline.value)} of route '${route.name}' is shorter than its chain's worst case, ${formatDuration(worst.totalMs)} (${describeSlowestPath(worst)})`,
        {
          node: deadline,
          property: 'value',
          code: IssueCodes.DeadlineTooShort,
          data: { code: IssueCodes.DeadlineTooShort, deadlineMs: deadline.value, worstCaseMs: worst.totalMs },
        },
      );
    },
    Route: [
      checkBatchDirect,
      (route, accept) => {
        const primary = primaryOf(route);
        if (!primary || !isUse(primary) || !primary.target?.model) return;
        const primaryModel = primary.target.model;
        const same = (model: { ref?: Model; $refText: string }): boolean =>
          model.ref && primaryModel.ref
            ? model.ref === primaryModel.ref
            : model.$refText === primaryModel.$refText;
        for (const target of [...fallbackTargets(route), ...escalationTargets(route)]) {
          if (!target.model || !same(target.model)) continue;
          const name = target.model.$refText;
          const message = isEscalate(target.holder)
            ? `escalate to '${name}' can never run: '${name}' is the primary model of route '${route.name}', tried first`
            : `fallback to '${name}' repeats the primary model of route '${route.name}' (use retries on the use target instead)`;
          accept('warning', message, {
            node: target.holder,
            property: 'model' as never,
            code: IssueCodes.TargetIsPrimary,
            data: { code: IssueCodes.TargetIsPrimary, model: name, role: target.role },
          });
        }
      },
      (route, accept) => {
        if (!route.when) return;
        const capabilities = requiredCapabilities(route.when);
        if (capabilities.length === 0) return;
        const reported = new Set<string>();
        for (const target of allTargets(route)) {
          const model = target.model?.ref;
          if (!model) continue;
          const has = modelCapabilities(model) ?? [];
          for (const capability of capabilities) {
            if (has.includes(capability) || reported.has(`${model.name}\u0000${capability}`)) continue;
            reported.add(`${model.name}\u0000${capability}`);
            const listed =
              has.length > 0 ? `its capabilities: ${has.join(', ')}` : 'it lists no capabilities';
            accept(
              'warning',
              `model '${model.name}' lacks capability "${capability}", which route '${route.name}' matches on (${listed})`,
              {
                node: target.holder,
                property: 'model' as never,
                code: IssueCodes.MissingCapability,
                data: { code: IssueCodes.MissingCapability, model: model.name, capability },
              },
            );
          }
        }
      },
    ],
  };
}
