/**
 * Budgets (docs/language.md §4.2): `on-exceed downgrade M` should move requests to a model that
 * costs less than the one it replaces. A budget applies to every request of its policy, so it may
 * replace any model of any route.
 */
import type { ValidationChecks } from 'langium';
import { type Model, type SwitchyardAstType, isRoute } from '../generated/ast.js';
import { comparePerToken, modelPrice } from './catalog-facts.js';
import { IssueCodes } from './issue-codes.js';
import { allTargets } from './route-facts.js';

export function budgetChecks(): ValidationChecks<SwitchyardAstType> {
  return {
    BudgetExceed: (exceed, accept) => {
      const downgrade = exceed.model?.ref;
      if (exceed.action !== 'downgrade' || !downgrade) return;
      const budget = exceed.$container;
      const policy = budget.$container;
      const replaced = new Map<string, Model>();
      for (const route of policy.items.filter(isRoute)) {
        for (const target of allTargets(route)) {
          const model = target.model?.ref;
          if (model && model !== downgrade) replaced.set(model.name, model);
        }
      }
      const price = modelPrice(downgrade);
      // Costs more when either its input or its output price per token is higher: some request
      // then costs more after the "downgrade" than before.
      const cheaper = [...replaced.values()].filter((model) => {
        const other = modelPrice(model);
        return (
          comparePerToken(price.input, other.input) > 0 || comparePerToken(price.output, other.output) > 0
        );
      });
      if (cheaper.length === 0) return;
      const first = cheaper[0]!;
      const other = modelPrice(first);
      const names = cheaper.map((m) => `'${m.name}'`).join(', ');
      accept(
        'warning',
        `budget '${budget.name}' downgrades to '${downgrade.name}', which costs more than ${names} it may replace (input ${price.input.text} vs ${other.input.text}, output ${price.output.text} vs ${other.output.text} for '${first.name}')`,
        {
          node: exceed,
          property: 'model',
          code: IssueCodes.CostlierDowngrade,
          data: {
            code: IssueCodes.CostlierDowngrade,
            model: downgrade.name,
            cheaper: cheaper.map((m) => m.name),
          },
        },
      );
    },
  };
}
