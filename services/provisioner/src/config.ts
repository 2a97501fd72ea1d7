import { SecretsConfig } from '@flotilla/secrets';
import { RETIRED_PLATFORM_RELEASE, serviceConfigSchema } from '@flotilla/service-kit';
import { z } from 'zod';
import type { MaxUnhealthy } from './domain/cluster/index.js';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ProvisionerConfig = serviceConfigSchema(8081, {
  /** Key-encryption keys for SSH keys and clusters' join secrets (see @flotilla/secrets). */
  ...SecretsConfig,
  /**
   * No longer read: requests are judged by the platform release and support matrix in the
   * support-matrix bucket (set through the upgrade planner's API), like every other service.
   */
  PLATFORM_RELEASE: RETIRED_PLATFORM_RELEASE,
  /** Which infrastructure provider creates machines. Only the simulated one exists so far. */
  INFRA_PROVIDER: z.enum(['simulated']).default('simulated'),
  /** Machines claimed per reconcile round (one claim query, one write transaction). */
  RECONCILE_BATCH_SIZE: integer(1, 10_000).default(500),
  /**
   * The machine queue's tables are vacuumed after this many machines were recorded (0: never;
   * left to autovacuum). Every claim and record writes a row again, and the dead versions slow
   * the claims down until they are vacuumed.
   */
  RECONCILE_VACUUM_EVERY: integer(0, 10_000_000).default(20_000),
  /** Provider calls in flight at once, per replica. */
  PROVIDER_CONCURRENCY: integer(1, 1_000).default(32),
  /** How long to sleep when a round found nothing to do. */
  RECONCILE_IDLE_MS: integer(10, 60_000).default(200),
  /** How soon to look again at a machine still coming up (when the provider gives no hint). */
  MACHINE_POLL_MS: integer(10, 600_000).default(1_000),
  /** A claim lasts this long: after a crash, another replica takes the machine over when it ends. */
  MACHINE_LEASE_MS: integer(100, 3_600_000).default(30_000),
  /** A machine must be Running this long after provisioning starts, or the cluster fails. */
  MACHINE_TIMEOUT_MS: integer(1_000, 86_400_000).default(15 * 60_000),
  /** Provider calls that throw are retried with backoff; after this many in a row the machine fails. */
  PROVIDER_MAX_ERRORS: integer(1, 100).default(5),
  /** Machine health check: how often a Running machine's node is looked at. */
  MHC_CHECK_INTERVAL_MS: integer(100, 3_600_000).default(30_000),
  /** Machine health check: a machine made once the cluster runs (scale-up, replacement) must be a node within this. */
  MHC_NODE_STARTUP_TIMEOUT_MS: integer(1_000, 86_400_000).default(10 * 60_000),
  /** Machine health check: a node not Ready for this long is replaced. */
  MHC_UNHEALTHY_TIMEOUT_MS: integer(0, 86_400_000).default(5 * 60_000),
  /**
   * Machine health check: when more machines of a cluster than this are unhealthy, none is
   * replaced (a network outage is not fixed by replacing every machine). A count ("2") or a
   * share of the cluster's machines ("40%", rounded down), like Cluster API's maxUnhealthy.
   */
  MHC_MAX_UNHEALTHY: z
    .string()
    .regex(/^(\d+|\d+(\.\d+)?%)$/, 'must be a count such as 2 or a percentage such as 40%')
    .transform((text): MaxUnhealthy => (text.endsWith('%') ? { kind: 'percent', value: Math.min(100, Number(text.slice(0, -1))) } : { kind: 'count', value: Number(text) }))
    .default({ kind: 'percent', value: 40 }),
  /** Hosted control planes: a TenantControlPlane not Ready this long after it was first applied fails its cluster. */
  HOSTED_READY_TIMEOUT_MS: integer(1_000, 86_400_000).default(15 * 60_000),
  /** Hosted control planes: how long one watch of a TenantControlPlane is held before it is opened again (at most half of MACHINE_LEASE_MS is used). */
  HOSTED_WATCH_TIMEOUT_MS: integer(1_000, 3_600_000).default(30_000),
  /** Simulated provider: how long a machine takes to come up. */
  SIM_BOOT_MS: integer(0, 3_600_000).default(1_500),
  /** Simulated provider: share of machines that fail to boot, 0..1. */
  SIM_FAILURE_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Simulated provider: share of API calls that throw (a cloud's 503s), 0..1; they are retried. */
  SIM_API_ERROR_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Simulated provider: how long each API call takes to answer (a cloud's round trip), in ms. */
  SIM_API_LATENCY_MS: integer(0, 60_000).default(0),
  /** Simulated provider: share of nodes that are never Ready once joined (machine health checks replace them), 0..1. */
  SIM_UNHEALTHY_RATE: z.coerce.number().min(0).max(1).default(0),
  /** Simulated provider: which machines and calls fail is a function of this seed and the machine name. */
  SIM_SEED: z.string().min(1).default('flotilla'),
});
export type ProvisionerConfig = z.infer<typeof ProvisionerConfig>;

/** Injection token of the parsed configuration. */
export const PROVISIONER_CONFIG = Symbol('PROVISIONER_CONFIG');
