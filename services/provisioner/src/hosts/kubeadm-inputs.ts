import type { JoinSecrets } from '../bootstrap/join-secrets.js';

/** What kubeadm does on a host: the first control-plane node initialises, the others join. */
export type KubeadmAction = 'init' | 'join-control-plane' | 'join-worker';

/** Where the installer gets a cluster's join secrets: the same on every call (made on first use). */
export interface JoinSecretsSource {
  forCluster(clusterId: string): Promise<JoinSecrets>;
}

/** The values of a cluster's secrets, to mask wherever output is recorded. */
export function secretValues(secrets: JoinSecrets): string[] {
  return [secrets.bootstrapToken, secrets.certificateKey, secrets.ca.privateKeyPem];
}
