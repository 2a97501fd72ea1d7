import { stringify } from 'yaml';
import type { ConnectedCluster } from '../domain/connected-cluster.js';
import { isTunnelRef } from '../domain/tunnel-cluster.js';

/** Where Flotilla serves a connected cluster's Kubernetes API: the tunnel broker's proxy for a registered cluster, the importer's for the others. */
export function proxyPathOf(cluster: Pick<ConnectedCluster, 'id' | 'credentialRef'>): string {
  const id = encodeURIComponent(cluster.id);
  return isTunnelRef(cluster.credentialRef) ? `/api/v1/tunnels/${id}/k8s` : `/api/v1/connected-clusters/${id}/k8s`;
}

export interface TokenKubeconfig {
  clusterId: string;
  server: string;
  /** The CA of Flotilla's public address; null: kubectl trusts the system roots. */
  caCertificatePem: string | null;
  user: string;
  token: string;
}

/** A kubeconfig of one cluster, one user and one context named after the cluster, authenticating with a bearer token. */
export function renderTokenKubeconfig(input: TokenKubeconfig): string {
  const userName = `${input.user}@${input.clusterId}`;
  const cluster = { server: input.server, ...(input.caCertificatePem === null ? {} : { 'certificate-authority-data': Buffer.from(input.caCertificatePem, 'utf8').toString('base64') }) };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: input.clusterId, cluster }],
    users: [{ name: userName, user: { token: input.token } }],
    contexts: [{ name: input.clusterId, context: { cluster: input.clusterId, user: userName } }],
    'current-context': input.clusterId,
    preferences: {},
  });
}
