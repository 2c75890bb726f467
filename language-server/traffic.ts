/**
 * The hover's "recent traffic" line on a route (docs/editor.md, "Traffic on a route"): of the
 * policy's requests in the last 24 hours that the audit trail has routing facts for, how many this
 * route served. Read-only: it counts the trail's records, never writes. Cheap: one pass over the
 * day's records (the columns `replay` reads), kept for a few seconds and shared by every hover in
 * that time. No store named and no default store file → no line.
 *
 * The store is the one the CLI and the worker use (docs/cli.md): the editor's `switchyard.store`
 * setting, else `SWITCHYARD_STORE`, else `store:` of the workspace's `switchyard.yaml`, else
 * `.switchyard/state.db` in the workspace when that file exists. A relative SQLite path is
 * relative to the workspace (to the file, for `switchyard.yaml`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How long counts are reused. */
export const TRAFFIC_CACHE_MS = 5_000;

interface Counts {
  at: number;
  url: string;
  /** By policy: requests with routing facts, and per route. */
  policies: Map<string, { total: number; routes: Map<string, number> }>;
}

export interface TrafficOptions {
  /** The workspace folder (a path), where `switchyard.yaml` and `.switchyard/` are looked for. */
  root: () => string | undefined;
  /** The editor's `switchyard.store` setting, when the client has one. */
  setting: () => Promise<string | undefined>;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export class RecentTraffic {
  private counts: Counts | undefined;
  private pending: Promise<Counts | undefined> | undefined;

  constructor(private readonly options: TrafficOptions) {}

  /** The store URL to read, or undefined when none is named and the default file is absent. */
  async storeUrl(): Promise<string | undefined> {
    const root = this.options.root();
    const relative = (url: string, dir: string | undefined): string => {
      const sqlite = /^sqlite:(.*)$/i.exec(url);
      const file = sqlite?.[1];
      if (!file || !dir || path.isAbsolute(file) || file === ':memory:') return url;
      return `sqlite:${path.resolve(dir, file)}`;
    };
    const setting = (await this.options.setting().catch(() => undefined))?.trim();
    if (setting) return relative(setting, root);
    const env = (this.options.env ?? process.env).SWITCHYARD_STORE?.trim();
    if (env) return relative(env, root);
    if (root === undefined) return undefined;
    const config = path.join(root, 'switchyard.yaml');
    if (fs.existsSync(config)) {
      const store = (parse(fs.readFileSync(config, 'utf8')) as { store?: unknown } | null)?.store;
      if (typeof store === 'string' && store.trim()) return relative(store.trim(), root);
    }
    const fallback = path.join(root, '.switchyard', 'state.db');
    return fs.existsSync(fallback) ? `sqlite:${fallback}` : undefined;
  }

  /** `recent traffic: …` for `route` of `policy`, or undefined without a store. */
  async line(policy: string, route: string): Promise<string | undefined> {
    const counts = await this.current();
    if (counts === undefined) return undefined;
    const mine = counts.policies.get(policy);
    const total = mine?.total ?? 0;
    if (total === 0) return `**recent traffic**: no requests of policy ${policy} in the last 24 h`;
    const served = mine?.routes.get(route) ?? 0;
    const share = Math.round((served / total) * 1000) / 10;
    return `**recent traffic**: ${served.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} requests of policy ${policy} in the last 24 h (${share}%)`;
  }

  private async current(): Promise<Counts | undefined> {
    const now = (this.options.now ?? Date.now)();
    const url = await this.storeUrl();
    if (url === undefined) return undefined;
    const cached = this.counts;
    if (cached && cached.url === url && now - cached.at < TRAFFIC_CACHE_MS) return cached;
    this.pending ??= this.read(url, now).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async read(url: string, now: number): Promise<Counts | undefined> {
    // Loaded on the first hover that needs it: the database drivers stay out of the server's start.
    const { openStore } = await import('../store/index.js');
    let store;
    try {
      store = await openStore(url, { create: false });
    } catch {
      return undefined;
    }
    try {
      const policies: Counts['policies'] = new Map();
      for await (const page of store.replayRows({ since: now - DAY_MS, until: now + 1 })) {
        for (const row of page) {
          if (row.routing === null) continue;
          let entry = policies.get(row.policy);
          if (entry === undefined) policies.set(row.policy, (entry = { total: 0, routes: new Map() }));
          entry.total++;
          if (row.route !== null) entry.routes.set(row.route, (entry.routes.get(row.route) ?? 0) + 1);
        }
      }
      this.counts = { at: now, url, policies };
      return this.counts;
    } finally {
      await store.close();
    }
  }
}
