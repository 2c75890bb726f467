import * as ast from '../generated/ast.js';
import type { ModelPlan, Price, ProviderPlan } from '../../plan/types.js';
import { providerConcurrency, providerQueue } from '../validation/catalog-facts.js';
import { moneyOf } from './conditions.js';
import { fail } from './errors.js';
import type { PlanPaths } from './files.js';
import { first, resolveRef } from './nodes.js';

/** A model as the plan carries it, and the provider it runs on. */
export function compileModel(model: ast.Model): { plan: ModelPlan; provider: ast.Provider } {
  const items = model.items;
  const providerItem = first(items, ast.isModelProvider);
  if (!providerItem) fail(model, 'E-COMPILE-MODEL-PROVIDER', `model '${model.name}' names no provider`);
  const provider = resolveRef(providerItem.provider, providerItem, 'provider');
  const priceItem = first(items, ast.isPriceItem);
  return {
    provider,
    plan: {
      name: model.name,
      provider: provider.name,
      id: first(items, ast.isModelId)?.id ?? model.name,
      version: first(items, ast.isModelVersion)?.version ?? null,
      context: first(items, ast.isModelContext)?.value ?? null,
      capabilities: items.filter(ast.isCapabilities).flatMap((item) => item.names),
      price: priceItem ? compilePrice(priceItem) : null,
    },
  };
}

/** `price input $X per N[, output $Y per M]`, exactly; a direction not written is free. */
export function compilePrice(item: ast.PriceItem): { input: Price; output: Price } {
  const parts: Partial<Record<'input' | 'output', Price>> = {};
  for (const part of item.parts) {
    if (parts[part.direction]) continue;
    if (!(part.per > 0)) {
      fail(part, 'E-COMPILE-PRICE', `a price is per a positive number of tokens, not per ${part.per}`);
    }
    parts[part.direction] = { nanos: moneyOf(part, part.amount), perTokens: part.per };
  }
  const free = (other: Price | undefined): Price => ({ nanos: 0, perTokens: other?.perTokens ?? 1 });
  return { input: parts.input ?? free(parts.output), output: parts.output ?? free(parts.input) };
}

/**
 * A provider with its defaults filled in: queue `provider-<name>`, concurrency 1 for `embedded`
 * and 4 otherwise, no timeout (`null` = 60 s), no region; `embedded` is always private.
 */
export function compileProvider(provider: ast.Provider, paths: PlanPaths): ProviderPlan {
  const items = provider.items;
  const kindItem = first(items, ast.isProviderKind);
  if (!kindItem) {
    fail(
      provider,
      'E-COMPILE-PROVIDER-KIND',
      `provider '${provider.name}' needs 'kind ollama | openai | embedded'`,
    );
  }
  const kind = kindItem.kind;
  const modelFile = first(items, ast.isModelFile);
  return {
    name: provider.name,
    kind,
    endpoints: items.filter(ast.isEndpoints).flatMap((item) => item.urls),
    queue: providerQueue(provider),
    concurrency: providerConcurrency(provider),
    timeoutMs: first(items, ast.isProviderTimeout)?.value ?? null,
    private: kind === 'embedded' || items.some(ast.isPrivateFlag),
    region: first(items, ast.isRegion)?.region ?? null,
    apiKeyEnv: first(items, ast.isApiKey)?.variable ?? null,
    modelFile: modelFile ? paths.rebase(modelFile, modelFile.path) : null,
  };
}
