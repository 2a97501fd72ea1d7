/**
 * The shortest time the cloud stand-ins allow for the cloud-provisioning benchmark's work, from
 * the same operation times and rate limits the benchmark gives them. Pure: tested on its own.
 *
 * Per cloud c (its clusters all created from one cloud account, so one rate limit):
 *
 *   chain_c    = the operation chain of one cluster: control plane, then its node groups
 *                  eks: createCluster + createNodegroup             (node groups side by side)
 *                  aks: clusterCreate + poolCreate                  (the System pool comes with
 *                       the cluster; User pools side by side)
 *                  gke: createCluster + deleteNodePool + g * createNodePool   (GKE runs one
 *                       operation at a time per cluster: the bootstrap pool's deletion, then
 *                       each node pool in turn)
 *   requests_c = clusters_c * the requests one cluster needs at the least: each create or
 *                delete it starts, plus one read per resource (or per GKE operation) to see it
 *                done; no polling, no version check (once per region would do), no tokens
 *   rate_c     = requests_c through the account's limit with nothing else in the way:
 *                  token bucket (burst B, r per second): max(0, requests_c - B) / r
 *                  window (n per w ms):                  (ceil(requests_c / n) - 1) * w
 *
 *   critical_path_s = max over clouds of max(chain_c, rate_c)
 *
 * A lower bound: the clusters of one cloud run side by side, each as fast as its chain, and the
 * account's requests go out as fast as the limit lets them. No reconciler can do better.
 */

export type CloudName = 'eks' | 'aks' | 'gke';

export type RateLimitModel = { kind: 'token-bucket'; perSecond: number; burst: number } | { kind: 'window'; requests: number; windowMs: number };

export interface EksTimes {
  createCluster: number;
  createNodegroup: number;
}
export interface AksTimes {
  clusterCreate: number;
  poolCreate: number;
}
export interface GkeTimes {
  createCluster: number;
  deleteNodePool: number;
  createNodePool: number;
}

export type CloudWork =
  | { provider: 'eks'; clusters: number; nodeGroups: number; durations: EksTimes; rateLimit: RateLimitModel }
  | { provider: 'aks'; clusters: number; nodeGroups: number; durations: AksTimes; rateLimit: RateLimitModel }
  | { provider: 'gke'; clusters: number; nodeGroups: number; durations: GkeTimes; rateLimit: RateLimitModel };

export interface CloudBound {
  provider: CloudName;
  chainS: number;
  minRequests: number;
  rateS: number;
  /** max(chainS, rateS) */
  boundS: number;
}

/** The operation chain of one cluster of this cloud, in ms. */
export function chainMs(work: CloudWork): number {
  switch (work.provider) {
    case 'eks':
      return work.durations.createCluster + (work.nodeGroups > 0 ? work.durations.createNodegroup : 0);
    case 'aks':
      return work.durations.clusterCreate + (work.nodeGroups > 0 ? work.durations.poolCreate : 0);
    case 'gke':
      return work.durations.createCluster + work.durations.deleteNodePool + work.nodeGroups * work.durations.createNodePool;
  }
}

/** Requests one cluster of this cloud needs at the least (see the header). */
export function requestsPerCluster(work: CloudWork): number {
  switch (work.provider) {
    case 'eks':
      // CreateCluster, DescribeCluster; CreateNodegroup and DescribeNodegroup per group.
      return 2 + 2 * work.nodeGroups;
    case 'aks':
      // PUT and GET of the cluster, listClusterUserCredential (its CA); PUT and GET per pool.
      return 3 + 2 * work.nodeGroups;
    case 'gke':
      // Create, bootstrap pool delete and each pool create, each with one GET of its operation.
      return 2 * (2 + work.nodeGroups);
  }
}

/** The least time `requests` take through a rate limit, in ms. */
export function rateLimitedMs(requests: number, limit: RateLimitModel): number {
  if (requests <= 0) return 0;
  switch (limit.kind) {
    case 'token-bucket':
      return (Math.max(0, requests - limit.burst) / limit.perSecond) * 1000;
    case 'window':
      return (Math.ceil(requests / limit.requests) - 1) * limit.windowMs;
  }
}

export function cloudBound(work: CloudWork): CloudBound {
  for (const [field, value] of Object.entries({ clusters: work.clusters, nodeGroups: work.nodeGroups })) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`${work.provider}.${field} must be a whole number >= 0, not ${value}`);
  }
  const limit = work.rateLimit;
  const rate = limit.kind === 'token-bucket' ? limit.perSecond : limit.requests / limit.windowMs;
  if (!(rate > 0)) throw new Error(`${work.provider}.rateLimit must allow some requests`);
  const minRequests = work.clusters * requestsPerCluster(work);
  const chainS = work.clusters === 0 ? 0 : chainMs(work) / 1000;
  const rateS = rateLimitedMs(minRequests, limit) / 1000;
  return { provider: work.provider, chainS, minRequests, rateS, boundS: Math.max(chainS, rateS) };
}

/** critical_path_s and what each cloud contributes to it. */
export function criticalPath(works: readonly CloudWork[]): { seconds: number; clouds: CloudBound[] } {
  const clouds = works.map(cloudBound);
  return { seconds: Math.max(0, ...clouds.map((cloud) => cloud.boundS)), clouds };
}
