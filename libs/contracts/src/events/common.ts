import { z } from 'zod';

/** Cluster ids are lower-case DNS labels (they become Kubernetes object names). */
export const ClusterId = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and "-"')
  .describe('Cluster id: a DNS label, unique in the fleet');

/**
 * A new cluster id from a display name: the name as a DNS label plus a random suffix, so two
 * clusters called "prod" can coexist.
 */
export function clusterIdFor(name: string): string {
  const base = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50).replace(/-+$/, '') || 'cluster';
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(3)), (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${base}-${suffix}`;
}

export const ClusterModel = z
  .enum(['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected'])
  .describe('How the cluster is run: see the model catalogue');
export type ClusterModel = z.infer<typeof ClusterModel>;

/** A Kubernetes version as a cluster reports it, e.g. `v1.33.4` or `v1.33.5-eks-113cf36`. */
export const KubernetesVersion = z
  .string()
  .regex(/^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.+-]*)?$/, 'must look like 1.33 or v1.33.4')
  .describe('Kubernetes version, e.g. 1.34 or v1.33.4');

/** An instant as RFC 3339 with an offset, e.g. `2025-06-01T12:00:00Z`: what `Date#toISOString` gives. */
export const Timestamp = z.iso.datetime({ offset: true }).describe('RFC 3339 timestamp with offset, e.g. 2025-06-01T12:00:00Z');

export const Reason = z
  .object({
    code: z.string().min(1).describe('Stable machine-readable code'),
    message: z.string().min(1).describe('Human-readable explanation'),
    field: z.string().optional().describe('Path of the offending input field, when there is one'),
  })
  .describe('Why something failed or was refused');
export type Reason = z.infer<typeof Reason>;

export const Node = z.object({
  name: z.string().min(1),
  role: z.enum(['control-plane', 'worker']),
  pool: z.string().optional().describe('Node pool, for workers'),
  providerId: z.string().optional().describe('Infrastructure provider id of the machine'),
  addresses: z.array(z.string()).default([]),
  kubeletVersion: KubernetesVersion.optional(),
  machineSize: z.string().optional(),
});
export type Node = z.infer<typeof Node>;

export const Capacity = z.object({
  cpuCores: z.number().nonnegative(),
  memoryBytes: z.number().nonnegative(),
  pods: z.number().int().nonnegative().optional(),
});

/** Labels of a cluster: what label-scoped tokens and OIDC groups are limited by. */
export const ClusterLabels = z
  .record(z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_./]{0,61}[A-Za-z0-9])?$/, 'must be a label key'), z.string().max(63))
  .describe('Labels of the cluster (team=a, env=prod): access can be limited to clusters carrying given labels');
