import type { JoinMaterialIssuer } from '../bootstrap/join-material-issuer.js';
import type { JoinSecrets } from '../bootstrap/join-secrets.js';
import type { JoinWindow } from '../bootstrap/join-secrets.repository.js';

/** What kubeadm does on a host: the first control-plane node initialises, the others join. */
export type KubeadmAction = 'init' | 'join-control-plane' | 'join-worker';

/**
 * Where the installer gets a cluster's join secrets: `forCluster` the set `kubeadm init` starts
 * from (made on first use), `forJoin` one whose token and certificates last the join, renewed
 * through the issuer when they would not.
 */
export interface JoinSecretsSource {
  forCluster(clusterId: string): Promise<JoinSecrets>;
  forJoin(clusterId: string, window: JoinWindow, issuer: JoinMaterialIssuer): Promise<JoinSecrets>;
}

/** The values of a cluster's secrets, to mask wherever output is recorded. */
export function secretValues(secrets: JoinSecrets): string[] {
  return [secrets.bootstrapToken, secrets.certificateKey, secrets.ca.privateKeyPem];
}
