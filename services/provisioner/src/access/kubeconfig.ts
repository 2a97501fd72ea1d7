import type { Role } from '@flotilla/auth';
import { stringify } from 'yaml';
import { z } from 'zod';

/**
 * The Kubernetes groups a Flotilla role is given in a built cluster's client certificate. Least
 * privilege: an operator is `flotilla:operator`, which the cluster's RBAC binds to the `edit`
 * ClusterRole as the tunnel agent's manifest does for registered clusters; an admin is also
 * `kubeadm:cluster-admins`, which kubeadm (1.29 and later) binds to `cluster-admin` in every
 * cluster it initialises: an RBAC binding that can be withdrawn, unlike `system:masters`, which
 * bypasses authorisation and is never handed out. A viewer gets no certificate at all.
 */
export const CERTIFICATE_GROUPS: Record<Exclude<Role, 'viewer'>, string[]> = {
  operator: ['flotilla:operator'],
  admin: ['flotilla:admin', 'kubeadm:cluster-admins'],
};

export function certificateGroups(role: Role): string[] {
  return role === 'viewer' ? [] : CERTIFICATE_GROUPS[role];
}

export const DEFAULT_CERTIFICATE_TTL_MS = 3_600_000;
export const MIN_CERTIFICATE_TTL_MS = 5 * 60_000;
export const MAX_CERTIFICATE_TTL_MS = 24 * 3_600_000;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `?ttl=`: `90m`, `2h`, `600s`, between 5 minutes and 24 hours; 1 hour when absent. */
export const KubeconfigQuery = z.object({
  ttl: z
    .string()
    .regex(/^[1-9][0-9]{0,5}[smh]$/, 'must be a duration such as 30m, 2h or 600s')
    .transform((text) => Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS])
    .refine((ms) => ms >= MIN_CERTIFICATE_TTL_MS && ms <= MAX_CERTIFICATE_TTL_MS, 'must be between 5m and 24h')
    .default(DEFAULT_CERTIFICATE_TTL_MS)
    .describe('How long the certificate lasts: 5m to 24h (`30m`, `2h`, `600s`); 1h by default'),
});
export type KubeconfigQuery = z.infer<typeof KubeconfigQuery>;

export interface ClientCertificateKubeconfig {
  clusterId: string;
  /** `https://host:port`. */
  server: string;
  caCertificatePem: string;
  user: string;
  certificatePem: string;
  privateKeyPem: string;
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** A kubeconfig of one cluster, one user and one context named after the cluster, as kubectl reads it. */
export function renderKubeconfig(input: ClientCertificateKubeconfig): string {
  const userName = `${input.user}@${input.clusterId}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: input.clusterId, cluster: { server: input.server, 'certificate-authority-data': base64(input.caCertificatePem) } }],
    users: [{ name: userName, user: { 'client-certificate-data': base64(input.certificatePem), 'client-key-data': base64(input.privateKeyPem) } }],
    contexts: [{ name: input.clusterId, context: { cluster: input.clusterId, user: userName } }],
    'current-context': input.clusterId,
    preferences: {},
  });
}
