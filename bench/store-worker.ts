/**
 * One process of the multi-process SQLite benchmark (bench/store.ts): opens the store, prints
 * `ready`, waits for `go` on stdin, runs its share of reserve→commit cycles and exits.
 * argv: URL OPTIONS-JSON (a `CycleOptions`: every process shares the run, budgets and limit).
 */
import { openStore } from '../store/index.js';
import { cycles, type CycleOptions } from './store.js';

const [url, options] = process.argv.slice(2);
if (url === undefined || options === undefined) throw new Error('usage: store-worker.ts URL OPTIONS-JSON');
const store = await openStore(url);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
await cycles(store, JSON.parse(options) as CycleOptions);
await store.close();
