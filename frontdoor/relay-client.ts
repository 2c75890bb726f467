/**
 * The worker's side of the cross-process relay (relay.ts): a sink that streams one attempt's text
 * to a front door's relay URL as one chunked POST. It never fails the attempt: a front door that
 * is gone, slow or refuses only loses the text of its own caller (the attempt's answer still
 * reaches the workflow, and a retry of the request gets it).
 *
 * Imports nothing but Node and the contract, so a worker process can use it without the front door.
 */
import http from 'node:http';
import type { DeltaRelay, DeltaSink } from '../contract/stream.js';

/** A sink POSTing to `relayUrl` (as made by the front door); `write`s are sent as they come. */
export function httpRelaySink(relayUrl: string, attempt: number, model: string): DeltaSink {
  let ended = false;
  let broken = false;
  const req = http.request(relayUrl, {
    method: 'POST',
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'transfer-encoding': 'chunked',
      'x-switchyard-attempt': String(attempt),
      'x-switchyard-model': model,
    },
    timeout: 30_000,
  });
  req.on('error', () => {
    broken = true;
  });
  req.on('timeout', () => req.destroy());
  req.on('response', (res) => res.resume());
  req.on('socket', (socket) => socket.setNoDelay(true));
  req.flushHeaders();
  return {
    write(text) {
      if (ended || broken || text === '') return;
      req.write(text);
    },
    end() {
      if (ended) return;
      ended = true;
      if (!broken) req.end();
    },
  };
}

/** A relay for worker processes without a front door: every target with a relay URL gets a sink. */
export const httpRelay: DeltaRelay = {
  open(target, attempt, model) {
    return target.relay === undefined ? undefined : httpRelaySink(target.relay, attempt, model);
  },
};
