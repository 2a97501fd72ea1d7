/**
 * The shortest time the cloud stand-ins allow for the cloud-provisioning benchmark's work, from
 * the same operation times and rate limits the benchmark gives them. Pure: tested on its own.
 *
 * Per cloud c (its clusters all created from one cloud account, so one rate limit), three lower
 * bounds, the longest of which is the cloud's:
 *
 *   chain_c    = the operation chain of one cluster: control plane, then its node groups
 *                  eks: createCluster + createNodegroup             (node groups side by side,
 *                       once the cluster is ACTIVE)
 *                  aks: clusterCreate, gke: createCluster           (the node groups come with
 *                       the cluster: agent pool profiles, node pools of the create request)
 *   rate_c     = requests_c through the account's limit with nothing else in the way, where
 *                requests_c = clusters_c * the requests one cluster needs at the least: each
 *                create it starts, plus, where the cloud has no call that reads many
 *                clusters at once (EKS), one read per resource to see it done; AKS and GKE list
 *                a resource group's or location's clusters (with their pools) and operations in
 *                one call, shared by all, so their reads count for nothing. No polling, no
 *                version check (once per region would do), no tokens.
 *                  token bucket (burst B, r per second): max(0, k - B) / r
 *                  sliding window (n per w ms):          (ceil(k / n) - 1) * w
 *   phase_c    = a start pushed back by the limit: the last cluster's create goes out at
 *                rate(clusters_c creates) at the earliest, then takes its chain. And at EKS no
 *                control plane is done before its create's time S has passed (every create is
 *                answered at 0 at the earliest), and a cluster's node groups are created only
 *                once it is seen done. So the requests made after S include, for every cluster,
 *                its DescribeCluster that sees it ACTIVE and its node groups' creates; the last of
 *                them is at S + rate(those) at the earliest and is a node group's create (or a
 *                read whose cluster's creates come later still), which then takes its own time:
 *                  phase_c = S + rate(clusters_c * requests after S) + the node group's time
 *                The longest of these is phase_c.
 *
 *   critical_path_s = max over clouds of max(chain_c, rate_c, phase_c)
 *
 * Each is a lower bound: no reconciler can do better. rate_c ignores when requests can be made;
 * phase_c adds that they cannot all be made at the start. (An EKS fleet of 100 clusters with two
 * node groups each behind 100 requests a second: 300 requests once the control planes are done at
 * 5 s, 100 of them at once and 200 more over 2 s, so the last node group starts at 7 s and is done
 * at 10 s, not at the chain's 8 s.)
 */

export type CloudName = 'eks' | 'aks' | 'gke';

export type RateLimitModel = { kind: 'token-bucket'; perSecond: number; burst: number } | { kind: 'window'; requests: number; windowMs: number };

export interface EksTimes {
  createCluster: number;
  createNodegroup: number;
}
/** AKS and GKE create a cluster's node groups with it: the create's time is the chain. */
export interface AksTimes {
  clusterCreate: number;
}
export interface GkeTimes {
  createCluster: number;
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
  phaseS: number;
  /** max(chainS, rateS, phaseS) */
  boundS: number;
}

/** Requests every cluster makes after `afterMs` before the fleet's last such operation starts, which then takes `thenMs`. */
export interface Phase {
  afterMs: number;
  requests: number;
  thenMs: number;
}

/** The operation chain of one cluster of this cloud, in ms. */
export function chainMs(work: CloudWork): number {
  switch (work.provider) {
    case 'eks':
      return work.durations.createCluster + (work.nodeGroups > 0 ? work.durations.createNodegroup : 0);
    case 'aks':
      return work.durations.clusterCreate;
    case 'gke':
      return work.durations.createCluster;
  }
}

/** Requests one cluster of this cloud needs at the least (see the header). */
export function requestsPerCluster(work: CloudWork): number {
  switch (work.provider) {
    case 'eks':
      // CreateCluster, DescribeCluster; CreateNodegroup and DescribeNodegroup per group.
      return 2 + 2 * work.nodeGroups;
    case 'aks':
      // PUT of the cluster with its pools; reads shared (its CA is read when the import side connects).
      return 1;
    case 'gke':
      // The create with its pools; operations read in shared lists.
      return 1;
  }
}

/** The phases whose last request starts what then takes `thenMs` (see phase_c in the header). */
export function phasesOf(work: CloudWork): Phase[] {
  const creates: Phase = { afterMs: 0, requests: 1, thenMs: chainMs(work) };
  if (work.provider !== 'eks' || work.nodeGroups === 0) return [creates];
  // DescribeCluster seeing it ACTIVE (CreateNodegroup is refused before), then the node groups' creates.
  return [creates, { afterMs: work.durations.createCluster, requests: 1 + work.nodeGroups, thenMs: work.durations.createNodegroup }];
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
  if (work.clusters === 0) return { provider: work.provider, chainS: 0, minRequests: 0, rateS: 0, phaseS: 0, boundS: 0 };
  const minRequests = work.clusters * requestsPerCluster(work);
  const chainS = chainMs(work) / 1000;
  const rateS = rateLimitedMs(minRequests, limit) / 1000;
  const phaseS = Math.max(0, ...phasesOf(work).map((phase) => (phase.afterMs + rateLimitedMs(work.clusters * phase.requests, limit) + phase.thenMs) / 1000));
  return { provider: work.provider, chainS, minRequests, rateS, phaseS, boundS: Math.max(chainS, rateS, phaseS) };
}

/** critical_path_s and what each cloud contributes to it. */
export function criticalPath(works: readonly CloudWork[]): { seconds: number; clouds: CloudBound[] } {
  const clouds = works.map(cloudBound);
  return { seconds: Math.max(0, ...clouds.map((cloud) => cloud.boundS)), clouds };
}
