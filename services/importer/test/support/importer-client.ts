import type { EventDefinition } from '@flotilla/contracts';
import type { BusConnection } from '@flotilla/messaging';
import { KeyRing } from '@flotilla/secrets';
import { eventsOf, eventually, type SeenEvent } from '@flotilla/messaging/testing';
import type { TestService } from '@flotilla/service-kit/testing';
import type { CredentialDescription } from '../../src/credentials/credential-store.js';
import type { ConnectedClusterResource } from '../../src/http/connected-clusters.controller.js';

/** What every test service needs besides the test kit's defaults: fast polling and a fresh key ring. */
export const importerTestEnv = (extra: Record<string, string> = {}) => ({ IMPORT_POLL_INTERVAL_MS: '50', SECRETS_KEYS: KeyRing.generateConfigValue(['test-1']), ...extra });

/** The importer's HTTP API as a test uses it: as an admin, unless the call passes its own authorization. */
export function importerClient(service: TestService) {
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${service.url}${path}`, { ...init, headers: { authorization: `Bearer ${service.adminToken}`, ...(init.headers as Record<string, string> | undefined) } });
  const send = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => api(path, { method, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return {
    api,
    /** POST /api/v1/imports; `headers` to call as someone else (`await service.auth(role, options)`). */
    post: (body: unknown, headers?: Record<string, string>) => send('POST', '/api/v1/imports', body, headers),
    registerRaw: (body: unknown) => send('POST', '/api/v1/credentials', body),
    /** Registers a credential and insists on 201. */
    register: async (body: Record<string, unknown>): Promise<CredentialDescription> => {
      const response = await send('POST', '/api/v1/credentials', body);
      const answer: unknown = await response.json();
      if (response.status !== 201) throw new Error(`registering ${String(body['ref'])}: ${response.status} ${JSON.stringify(answer)}`);
      return answer as CredentialDescription;
    },
    cluster: async (id: string) => {
      const response = await api(`/api/v1/connected-clusters/${id}`);
      return response.status === 200 ? ((await response.json()) as ConnectedClusterResource) : undefined;
    },
    /** Waits until the cluster is in one of `states`. */
    settled: async (id: string, states: string[] = ['Imported', 'Rejected'], timeoutMs = 15_000) =>
      eventually(
        async () => {
          const response = await api(`/api/v1/connected-clusters/${id}`);
          if (response.status !== 200) return undefined;
          const cluster = (await response.json()) as ConnectedClusterResource;
          return states.includes(cluster.state) ? cluster : undefined;
        },
        timeoutMs,
        `${id} to be ${states.join(' or ')}`,
      ),
  };
}

/** Waits for at least `count` events of a kind about a cluster on the bus. */
export async function waitForEvents<D extends EventDefinition>(bus: BusConnection, prefix: string, definition: D, clusterId: string, count = 1, timeoutMs = 15_000): Promise<SeenEvent<D>[]> {
  return eventually(
    async () => {
      const seen = await eventsOf(bus, prefix, definition, clusterId);
      return seen.length >= count ? seen : undefined;
    },
    timeoutMs,
    `${count} ${definition.name} for ${clusterId}`,
  );
}
