import type { PeerCertificate } from 'node:tls';

/**
 * An agent's certificate names its cluster in a URI subject alternative name; the broker takes
 * the cluster from there and nowhere else, so an agent cannot choose whose traffic it receives.
 */
const CLUSTER_URI_PREFIX = 'spiffe://flotilla/cluster/';

export function clusterUri(clusterId: string): string {
  return `${CLUSTER_URI_PREFIX}${clusterId}`;
}

/** The cluster id of a verified peer certificate; undefined unless it names exactly one. */
export function clusterIdOf(certificate: Pick<PeerCertificate, 'subjectaltname'> | undefined): string | undefined {
  const names = (certificate?.subjectaltname ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.startsWith(`URI:${CLUSTER_URI_PREFIX}`))
    .map((name) => name.slice(`URI:${CLUSTER_URI_PREFIX}`.length));
  if (names.length !== 1) return undefined;
  const [id] = names;
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(id!) ? id : undefined;
}
