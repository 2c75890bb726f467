/**
 * What the checks need to know about providers, models and literals, read from the AST (the
 * validator cannot wait for the compiler's plan: it runs on files with errors).
 */
import type { AstNode } from 'langium';
import { readDollars, tokensText } from '../../plan/index.js';
import {
  type Model,
  type Provider,
  isApiKey,
  isCapabilities,
  isConcurrency,
  isEndpoints,
  isModelContext,
  isModelFile,
  isModelProvider,
  isPriceItem,
  isPrivateFlag,
  isProviderKind,
  isProviderTimeout,
  isQueue,
  isRegion,
} from '../generated/ast.js';

/** `"0.0025"` (the converted MONEY literal, without `$`) → 2_500_000n nano-dollars; undefined if inexact. */
export function moneyToNanos(amount: string): bigint | undefined {
  const read = readDollars(amount);
  return read?.exact ? read.nanos : undefined;
}

/** `5000` → `5s`, `75600` → `75.6s`, `200` → `200ms`, `60000` → `60s`, `120000` → `2m`, `3600000` → `1h` (exact). */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 120_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function first<T extends AstNode>(
  items: readonly AstNode[],
  is: (node: unknown) => node is T,
): T | undefined {
  return items.find(is) as T | undefined;
}

export function providerOf(model: Model | undefined): Provider | undefined {
  return model ? first(model.items, isModelProvider)?.provider?.ref : undefined;
}

export function providerKind(provider: Provider | undefined): string | undefined {
  return provider ? first(provider.items, isProviderKind)?.kind : undefined;
}

/** `private`, or `kind embedded` (always private). */
export function isPrivateProvider(provider: Provider): boolean {
  return provider.items.some(isPrivateFlag) || providerKind(provider) === 'embedded';
}

export function providerRegion(provider: Provider): string | undefined {
  return first(provider.items, isRegion)?.region;
}

/** The task queue the provider's workers poll: its `queue`, else `provider-<name>` (docs/language.md §3.1). */
export function providerQueue(provider: Provider): string {
  return first(provider.items, isQueue)?.queue ?? `provider-${provider.name}`;
}

/** Requests in flight per endpoint: its `concurrency`, else 1 for `embedded` (one model in process), else 4. */
export function providerConcurrency(provider: Provider): number {
  const kind = first(provider.items, isProviderKind)?.kind;
  return first(provider.items, isConcurrency)?.value ?? (kind === 'embedded' ? 1 : 4);
}

export function providerTimeoutMs(provider: Provider | undefined): number | undefined {
  return provider ? first(provider.items, isProviderTimeout)?.value : undefined;
}

export function providerEndpoints(provider: Provider): string[] {
  return first(provider.items, isEndpoints)?.urls ?? [];
}

export function hasApiKey(provider: Provider): boolean {
  return provider.items.some(isApiKey);
}

export function modelFile(provider: Provider): string | undefined {
  return first(provider.items, isModelFile)?.path;
}

export function modelContext(model: Model): number | undefined {
  return first(model.items, isModelContext)?.value;
}

/** The model's capabilities, or undefined when it declares none. */
export function modelCapabilities(model: Model): string[] | undefined {
  return first(model.items, isCapabilities)?.names;
}

export interface UnitPrice {
  /** Nano-dollars per `per` tokens. */
  nanos: bigint;
  per: number;
  /** As written, for messages: `$0.0025 per 1k`. */
  text: string;
}

export interface ModelPrice {
  input: UnitPrice;
  output: UnitPrice;
}

const FREE: UnitPrice = { nanos: 0n, per: 1, text: '$0' };

/** A model's price; a model without `price` (or a direction without one) costs $0. */
export function modelPrice(model: Model): ModelPrice {
  const price: ModelPrice = { input: FREE, output: FREE };
  const item = first(model.items, isPriceItem);
  for (const part of item?.parts ?? []) {
    const nanos = moneyToNanos(part.amount);
    if (nanos === undefined || !(part.per > 0)) continue;
    price[part.direction] = { nanos, per: part.per, text: `$${part.amount} per ${tokensText(part.per)}` };
  }
  return price;
}

/** Compares two unit prices per token, exactly: negative when a is cheaper. */
export function comparePerToken(a: UnitPrice, b: UnitPrice): number {
  const left = a.nanos * BigInt(b.per);
  const right = b.nanos * BigInt(a.per);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Is this host a loopback address (127.0.0.0/8, ::1, localhost)? */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The http(s) URL an endpoint string denotes, or undefined. */
export function parseEndpoint(text: string): URL | undefined {
  try {
    const url = new URL(text);
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '') return url;
  } catch {
    /* not a URL */
  }
  return undefined;
}
