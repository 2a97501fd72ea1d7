import { SecretsConfig } from '@flotilla/secrets';
import { RETIRED_PLATFORM_RELEASE, serviceConfigSchema } from '@flotilla/service-kit';
import { z } from 'zod';
import { CloudConfigVariables } from './clouds/settings.js';
import { PublicAddressConfig } from './access/public-address.js';
import { TunnelBrokerConfig } from './connectivity/tunnel-config.js';
import { RegistrationConfig } from './registration/index.js';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ImporterConfig = serviceConfigSchema(8082, {
  ...RegistrationConfig,
  /** Where clusters registered through the tunnel are reached: the broker's internal URL and CA. */
  ...TunnelBrokerConfig,
  /** Flotilla's public address and its CA, for the kubeconfigs of connected clusters. */
  ...PublicAddressConfig,
  /**
   * No longer read: onboarding is judged by the platform release and support matrix in the
   * support-matrix bucket (set through the upgrade planner's API), like every other service.
   */
  PLATFORM_RELEASE: RETIRED_PLATFORM_RELEASE,
  /** How often the import worker looks for requests to check when it has nothing to do. */
  IMPORT_POLL_INTERVAL_MS: integer(10, 600_000).default(1_000),
  /** Connectivity checks one replica runs at once. */
  IMPORT_CHECK_CONCURRENCY: integer(1, 100).default(4),
  /** A check with no answer by then is rejected with probe-timeout. */
  IMPORT_PROBE_TIMEOUT_MS: integer(100, 600_000).default(30_000),
  /** A check still unfinished after this long is presumed abandoned (its replica died) and taken over. */
  IMPORT_CHECK_LEASE_MS: integer(1_000, 3_600_000).default(120_000),
  /** How often each managed cluster's version and health are re-read. */
  SYNC_INTERVAL_MS: integer(50, 86_400_000).default(300_000),
  /** Re-checks one replica runs at once. */
  SYNC_CONCURRENCY: integer(1, 1_000).default(50),
  /**
   * Steps of public cloud clusters one replica has in flight at once. A step mostly waits on its
   * cloud, and each account's request budget paces the calls whatever this is.
   */
  MANAGED_CONCURRENCY: integer(1, 1_000).default(64),
  /** A re-check with no answer by then counts as a failure. */
  SYNC_CHECK_TIMEOUT_MS: integer(50, 600_000).default(15_000),
  /** Failing clusters are re-checked at doubling intervals up to this. */
  SYNC_MAX_BACKOFF_MS: integer(50, 86_400_000).default(3_600_000),
  /** Failed re-checks in a row before a cluster is declared Unreachable. */
  SYNC_UNREACHABLE_AFTER_FAILURES: integer(1, 100).default(2),
  /** The key-encryption keys that seal credentials: `id:BASE64_KEY[,id:BASE64_KEY...]`, the first wraps new secrets. */
  ...SecretsConfig,
  /** Where the EKS, AKS and GKE APIs are (defaults: the public clouds); see src/clouds/settings.ts. */
  ...CloudConfigVariables.shape,
}).refine((config) => config.IMPORT_CHECK_LEASE_MS > config.IMPORT_PROBE_TIMEOUT_MS, {
  path: ['IMPORT_CHECK_LEASE_MS'],
  message: 'must be longer than IMPORT_PROBE_TIMEOUT_MS, or a check still running would be taken over',
}).refine((config) => config.SYNC_MAX_BACKOFF_MS >= config.SYNC_INTERVAL_MS, {
  path: ['SYNC_MAX_BACKOFF_MS'],
  message: 'must be at least SYNC_INTERVAL_MS',
}).refine((config) => config.TUNNEL_BROKER_CA_FILE === undefined || config.TUNNEL_BROKER_URL !== undefined, {
  path: ['TUNNEL_BROKER_CA_FILE'],
  message: 'is the CA of the tunnel broker at TUNNEL_BROKER_URL, which is not set',
});
export type ImporterConfig = z.infer<typeof ImporterConfig>;
