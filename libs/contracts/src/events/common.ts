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
  .enum(['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected', 'public-cloud'])
  .describe('How the cluster is run: see the model catalogue (public-cloud: created and run by Flotilla at EKS, AKS or GKE through the importer)');
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

/**
 * How large lists and labels in requests may be. A bound that a released event type did not have
 * is checked by validation (zod refinements) and stated in the field's description, not written
 * into the JSON Schema as a keyword: the compatibility guard would read that as a breaking change.
 */
export const LABEL_LIMITS = {
  /** Labels a cluster carries. */
  clusterLabels: 64,
  /** Kubernetes: the optional prefix of a label key is a DNS subdomain of at most 253 characters. */
  keyPrefix: 253,
  /** Kubernetes: the name of a label key, after the prefix and "/". */
  keyName: 63,
  /** Kubernetes: a label value (also a taint's). */
  value: 63,
} as const;

/** "must have at most 64 labels, has 65": a list or record over its bound. */
export function atMost(limit: number, what: string, count: number): string {
  return `must have at most ${limit} ${what}, has ${count}`;
}

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_SYNTAX = 'letters, digits, "-", "_" or ".", starting and ending with a letter or digit';

/** What is wrong with a Kubernetes label key (or taint key), as Kubernetes checks a qualified name; undefined when nothing is. */
export function labelKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'must be a name, or a prefix and a name separated by one "/"';
  const [prefix, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : [undefined, parts[0]!];
  if (prefix !== undefined) {
    if (prefix.length === 0 || prefix.length > LABEL_LIMITS.keyPrefix) return `the prefix must be 1 to ${LABEL_LIMITS.keyPrefix} characters, is ${prefix.length}`;
    if (!DNS_SUBDOMAIN.test(prefix)) return 'the prefix must be a DNS subdomain: lower-case letters, digits, "-" and "."';
  }
  if (name.length === 0 || name.length > LABEL_LIMITS.keyName) return `the name must be 1 to ${LABEL_LIMITS.keyName} characters, is ${name.length}`;
  if (!LABEL_NAME.test(name)) return `the name must be ${NAME_SYNTAX}`;
  return undefined;
}

/** What is wrong with a Kubernetes label value (or taint value); undefined when nothing is. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > LABEL_LIMITS.value) return `must be at most ${LABEL_LIMITS.value} characters, is ${value.length}`;
  if (value.length > 0 && !LABEL_NAME.test(value)) return `must be empty or ${NAME_SYNTAX}`;
  return undefined;
}

/** The longest label key Kubernetes takes: a longer one is not echoed back as a field path. */
const LONGEST_LABEL_KEY = LABEL_LIMITS.keyPrefix + 1 + LABEL_LIMITS.keyName;

/**
 * Labels as Kubernetes takes them, at most `limit` of them: each problem is reported at the key
 * (`labels.<key>`), or at the record when the key is too long to be one.
 */
export function kubernetesLabels(limit: number) {
  return z.record(z.string(), z.string()).superRefine((labels, context) => {
    const entries = Object.entries(labels);
    if (entries.length > limit) context.addIssue({ code: 'custom', message: atMost(limit, 'labels', entries.length) });
    for (const [key, value] of entries) {
      const keyProblem = labelKeyProblem(key);
      if (keyProblem !== undefined) {
        if (key.length > LONGEST_LABEL_KEY) context.addIssue({ code: 'custom', message: `a key of ${key.length} characters: ${keyProblem}` });
        else context.addIssue({ code: 'custom', path: [key], message: `key: ${keyProblem}` });
        continue;
      }
      const valueProblem = labelValueProblem(value);
      if (valueProblem !== undefined) context.addIssue({ code: 'custom', path: [key], message: `value: ${valueProblem}` });
    }
  });
}

/** Labels of a cluster: what label-scoped tokens and OIDC groups are limited by. */
export const ClusterLabels = z
  .record(z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_./]{0,61}[A-Za-z0-9])?$/, 'must be a label key'), z.string().max(63))
  .superRefine((labels, context) => {
    const count = Object.keys(labels).length;
    if (count > LABEL_LIMITS.clusterLabels) context.addIssue({ code: 'custom', message: atMost(LABEL_LIMITS.clusterLabels, 'labels', count) });
  })
  .describe(`Labels of the cluster (team=a, env=prod), at most ${LABEL_LIMITS.clusterLabels}: access can be limited to clusters carrying given labels`);
