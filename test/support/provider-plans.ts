/** Plan fragments for provider tests: a full `ProviderPlan`/`ModelPlan` with only what matters given. */
import net from 'node:net';
import type { ModelPlan, ProviderPlan } from '../../plan/types.js';
import { TEST_MODEL } from './provider-server.js';

export function providerPlan(overrides: Partial<ProviderPlan> & Pick<ProviderPlan, 'kind'>): ProviderPlan {
  const name = overrides.name ?? `test-${overrides.kind}`;
  return {
    name,
    endpoints: [],
    queue: `provider-${name}`,
    concurrency: overrides.kind === 'embedded' ? 1 : 4,
    timeoutMs: null,
    private: true,
    region: null,
    apiKeyEnv: null,
    modelFile: null,
    ...overrides,
  };
}

export function modelPlan(provider: ProviderPlan, overrides: Partial<ModelPlan> = {}): ModelPlan {
  return {
    name: overrides.name ?? 'stories',
    provider: provider.name,
    id: TEST_MODEL,
    version: null,
    context: 1024,
    capabilities: ['chat'],
    price: null,
    ...overrides,
  };
}

/** A loopback URL nothing listens on (connections are refused). */
export async function closedPortUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
