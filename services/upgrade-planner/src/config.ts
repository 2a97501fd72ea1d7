import { DEFAULT_MAX_EVENT_BYTES, defaultSupportMatrix } from '@flotilla/contracts';
import { serviceConfigSchema, SHIPPED_PLATFORM_RELEASE } from '@flotilla/service-kit';
import { z } from 'zod';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const UpgradePlannerConfig = serviceConfigSchema(8083, {
  /** JetStream key-value bucket holding support-matrix revisions; defaults to `<BUS_PREFIX>_support_matrix`. */
  SUPPORT_MATRIX_BUCKET: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, "_" or "-" (a JetStream KV bucket name)')
    .optional(),
  /**
   * The platform release of the global cluster, written to the bucket when it names none yet (the
   * first start). From then on the bucket holds it: PUT /api/v1/support-matrix/platform-release.
   */
  PLATFORM_RELEASE: z
    .string()
    .refine((release) => defaultSupportMatrix.releases.has(release), `must be a release of support matrix ${defaultSupportMatrix.revision} (${[...defaultSupportMatrix.releases.keys()].join(', ')})`)
    .default(SHIPPED_PLATFORM_RELEASE),
  /** Revisions the bucket keeps (KV history); a restarted replica replays them to find the last good one. */
  SUPPORT_MATRIX_HISTORY: integer(1, 64).default(20),
  /** Quiet time after a fleet or matrix change before open plans are recomputed. */
  PLAN_DEBOUNCE_MS: integer(0, 600_000).default(500),
  /** Longest a recompute waits while changes keep arriving (provisioning storms). */
  PLAN_MAX_DELAY_MS: integer(0, 600_000).default(5_000),
  /** How often the fleet view looks for changes committed by other replicas. */
  PLAN_POLL_MS: integer(100, 3_600_000).default(15_000),
  /** Revisions of a plan that keep the whole plan; older ones keep their summary and changes only. */
  PLAN_REVISIONS_KEPT: integer(1, 100_000).default(100),
  /** Cap on one UpgradePlanned payload; consumers refuse events over DEFAULT_MAX_EVENT_BYTES. */
  PLAN_EVENT_MAX_BYTES: integer(16_384, DEFAULT_MAX_EVENT_BYTES).default(200_000),
});
export type UpgradePlannerConfig = z.infer<typeof UpgradePlannerConfig>;

/** The bucket name: the bus prefix keeps side-by-side installations (and tests) apart. */
export function supportMatrixBucket(config: Pick<UpgradePlannerConfig, 'SUPPORT_MATRIX_BUCKET' | 'BUS_PREFIX'>): string {
  return config.SUPPORT_MATRIX_BUCKET ?? `${config.BUS_PREFIX}_support_matrix`;
}

export const UPGRADE_PLANNER_CONFIG = Symbol('UPGRADE_PLANNER_CONFIG');
