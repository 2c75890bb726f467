/**
 * The front door's test rig: the provider test server (a real GGUF model), a worker stack on the
 * run's Temporal dev server, the real store with real keys, and a `FrontDoor` listening on an
 * ephemeral port — called through the official `openai` npm client.
 */
import OpenAI from 'openai';
import { Client, Connection } from '@temporalio/client';
import { catalog } from '../execution/fixtures.js';
import { startProviderServer, type ProviderServer } from '../support/provider-server.js';
import { startStack, temporalAddress, uniqueName, writePolicies, type Stack } from '../support/temporal.js';
import { largePayloadCodec } from '../../client/large-payloads.js';
import { LARGE_PAYLOAD_BYTES } from '../../cli/commands/serve.js';
import type { Store } from '../../store/types.js';
import { storeKeys } from '../../frontdoor/auth.js';
import { createDirectRunner } from '../../frontdoor/direct.js';
import { providerConcurrency } from '../../worker/worker.js';
import { FrontDoorRelay } from '../../frontdoor/relay.js';
import { FrontDoor, type FrontDoorOptions } from '../../frontdoor/server.js';

/** Routes for every row of the error table, chosen by capability. */
export const FRONT_POLICY = (execution: 'durable' | 'direct') => `
import "catalog.policy"

policy front {
  execution ${execution}

  rate-limit per team {
    100000 requests per minute
    on-exceed reject
  }

  guard secrets before all {
    block /FORBIDDEN/ "forbidden words may not be sent to a model"
  }

  guard checked after route checked {
    block /BEGIN [A-Z ]*PRIVATE KEY/ "answers may not carry private keys"
  }

  route chat when capability == "chat" {
    use small max-tokens 16
  }
  route tiny when capability == "tiny" {
    use small max-tokens 4
  }
  route checked when capability == "checked" {
    use small max-tokens 48
  }
  route long when capability == "long" {
    use small max-tokens 48
  }
  route flaky when capability == "flaky" {
    use small max-tokens 8 retries 1 backoff 100ms
  }
  route slow when capability == "slow" {
    use small timeout 600ms retries 3 backoff 100ms max-tokens 8
    deadline 1s
  }
  otherwise reject "no route for this capability"
}

policy tight {
  execution ${execution}
  budget daily per team {
    tokens 10 per day
    on-exceed reject
  }
  route chat when capability == "chat" {
    use small max-tokens 8
  }
}

policy limited {
  execution ${execution}
  rate-limit per team {
    1 requests per minute
    on-exceed reject
  }
  route chat when capability == "chat" {
    use small max-tokens 8
  }
}
`;

export interface Rig {
  server: ProviderServer;
  stack: Stack;
  door: FrontDoor;
  url: string;
  /** A key of team `support` for policy `front`. */
  key: string;
  /** An OpenAI client with `key` (or another key). */
  openai(key?: string): OpenAI;
  /** A key created in the store. */
  createKey(options: {
    team: string;
    policy?: string | null;
    admin?: boolean;
    expiresAt?: number | null;
  }): Promise<string>;
  close(): Promise<void>;
}

export async function startRig(
  execution: 'durable' | 'direct',
  options: Partial<FrontDoorOptions> & { server?: ProviderServer } = {},
): Promise<Rig> {
  const server = options.server ?? (await startProviderServer());
  const prefix = uniqueName('fd');
  const dir = writePolicies({
    'catalog.policy': catalog(server.url, prefix),
    'front.policy': FRONT_POLICY(execution),
  });
  // The worker shares this process: its attempts stream to the front door through the relay.
  const relay = new FrontDoorRelay();
  // Large prompts travel as blobs of the store, on both sides (docs/http.md "Limits and hardening").
  const codecs = (store: Store) => [largePayloadCodec(store, { thresholdBytes: LARGE_PAYLOAD_BYTES })];
  const stack = await startStack({ dir, taskQueue: uniqueName('fd-requests'), relay, payloadCodecs: codecs });
  const connection = await Connection.connect({ address: temporalAddress() });
  const direct =
    execution === 'direct'
      ? createDirectRunner({
          plans: stack.registry,
          store: stack.store,
          // As `switchyard serve`: one gate per provider (its concurrency × endpoints).
          concurrency: providerConcurrency,
          log: () => undefined,
        })
      : undefined;
  const door = new FrontDoor({
    plans: stack.registry,
    relay,
    ...(direct ? { direct } : {}),
    keys: storeKeys(stack.store),
    temporal: {
      client: new Client({ connection, dataConverter: { payloadCodecs: codecs(stack.store) } }),
      taskQueue: stack.taskQueue,
    },
    log: () => undefined,
    ...options,
  });
  const url = await door.listen(0);
  const createKey: Rig['createKey'] = async (o) =>
    (
      await stack.store.createKey({
        team: o.team,
        policy: o.policy === undefined ? 'front' : o.policy,
        ...(o.admin ? { admin: true } : {}),
        ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}),
      })
    ).key;
  const key = await createKey({ team: 'support' });
  return {
    server,
    stack,
    door,
    url,
    key,
    createKey,
    openai: (k = key) => new OpenAI({ baseURL: `${url}/v1`, apiKey: k, maxRetries: 0, timeout: 60_000 }),
    async close() {
      await door.close();
      direct?.close();
      await connection.close();
      await stack.close();
      if (options.server === undefined) await server.close();
    },
  };
}

/** What the provider server received for messages containing `marker`. */
export function callsWith(server: ProviderServer, marker: string): number {
  return server.requests.filter((r) => JSON.stringify(r.messages ?? []).includes(marker)).length;
}

/** An OpenAI SDK error's status, code and param (or the thrown thing when it is not one). */
export async function apiError(promise: Promise<unknown>): Promise<{
  status: number | undefined;
  code: string | null | undefined;
  param: string | null | undefined;
  type: string | undefined;
  message: string;
  headers: Headers | undefined;
}> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof OpenAI.APIError) {
      return {
        status: err.status,
        code: err.code,
        param: err.param,
        type: err.type,
        message: err.message,
        headers: err.headers,
      };
    }
    throw err;
  }
  throw new Error('expected an error, the request succeeded');
}
