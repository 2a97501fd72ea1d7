import type { protos } from '@google-cloud/container';
import type { GcpAccount } from '../accounts.js';
import type { CloudSettings } from '../settings.js';
import { SharedReads } from '../shared-reads.js';
import type { GkeClients } from './gke-client.js';
import { gkeError } from './gke-mapping.js';

type NodePool = protos.google.container.v1.INodePool;

/** `projects/<p>/zones/<z>/instanceGroupManagers/<name>` of an instance group URL, or null for anything else. */
export function instanceGroupPath(url: string | null | undefined): string | null {
  const match = /(?:^|\/)(projects\/[a-z0-9-]+\/zones\/[a-z0-9-]+\/instanceGroupManagers\/[a-z0-9-]+)$/.exec(url ?? '');
  return match?.[1] ?? null;
}

interface AggregatedInstanceGroupManagers {
  items?: Record<string, { instanceGroupManagers?: { selfLink?: string; targetSize?: number }[] }>;
  nextPageToken?: string;
}

/**
 * A GKE node pool's current size per zone: what its managed instance groups hold (one per zone of
 * the pool, `instanceGroupUrls`), averaged over them. GKE's own API gives only the size the pool
 * was created with (`initialNodeCount`), which neither a resize nor the autoscaler changes; before
 * the pool has instance groups, that is its size.
 */
export function gkePoolSizePerZone(pool: NodePool, targetSizes: ReadonlyMap<string, number>): number {
  const sizes = (pool.instanceGroupUrls ?? []).map((url) => targetSizes.get(instanceGroupPath(url) ?? ''));
  if (sizes.length === 0 || sizes.some((size) => size === undefined)) return pool.initialNodeCount ?? 0;
  return Math.round(sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0) / sizes.length);
}

/** The names GKE gives its node pools' instance groups (`gke-<cluster>-<pool>-<hash>-grp`), as a Compute filter. */
const GKE_GROUPS_FILTER = 'name eq gke-.*';

/**
 * Reads the target sizes of node pools' instance groups from Compute Engine (needs
 * `compute.instanceGroupManagers.list`), in aggregated listings, at the configured Compute
 * endpoint whatever host the URLs name.
 */
export class GkeInstanceGroups {
  /** Every GKE instance group of a project, by account and project: one listing serves every cluster there. */
  private readonly projectLists: SharedReads<Map<string, number>>;

  constructor(
    private readonly clients: GkeClients,
    private readonly settings: CloudSettings,
  ) {
    this.projectLists = new SharedReads(settings.listMaxAgeMs);
  }

  /** Target size by instance group path (`instanceGroupPath`) of every instance group of `pools`, asked for by name now. */
  async targetSizes(account: GcpAccount, projectId: string, pools: NodePool[], signal?: AbortSignal): Promise<Map<string, number>> {
    const names = new Set([...groupPaths(pools)].map((path) => path.split('/').pop() ?? ''));
    return names.size === 0 ? new Map() : this.list(account, projectId, `name eq (${[...names].join('|')})`, signal);
  }

  /**
   * The same from the project's listing of every GKE instance group, shared by the clusters of the
   * account there for up to `listMaxAgeMs` and asked after `notBefore` (our last change to the
   * cluster): watching a hundred clusters' pools takes one call, not one per cluster. Groups the
   * listing does not hold (made since it was asked) are asked for by name.
   */
  async sharedTargetSizes(account: GcpAccount, projectId: string, pools: NodePool[], notBefore: number, signal?: AbortSignal): Promise<ReadonlyMap<string, number>> {
    const paths = groupPaths(pools);
    if (paths.size === 0) return new Map();
    const { value } = await this.projectLists.read(`${account.client_email}\n${projectId}`, notBefore, () => this.list(account, projectId, GKE_GROUPS_FILTER, signal));
    return [...paths].every((path) => value.has(path)) ? value : this.targetSizes(account, projectId, pools, signal);
  }

  private async list(account: GcpAccount, projectId: string, filter: string, signal: AbortSignal | undefined): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    const jwt = this.clients.jwt(account);
    let pageToken: string | undefined;
    do {
      const url = new URL(`${this.settings.gke.computeEndpoint}/compute/v1/projects/${encodeURIComponent(projectId)}/aggregated/instanceGroupManagers`);
      url.searchParams.set('filter', filter);
      url.searchParams.set('returnPartialSuccess', 'true');
      if (pageToken !== undefined) url.searchParams.set('pageToken', pageToken);
      let page: AggregatedInstanceGroupManagers;
      try {
        page = (await jwt.request<AggregatedInstanceGroupManagers>({ url: url.toString(), timeout: this.settings.requestTimeoutMs, ...(signal === undefined ? {} : { signal }) })).data;
      } catch (error) {
        throw gkeError(error, `instance groups of node pools in ${projectId}`);
      }
      for (const scoped of Object.values(page.items ?? {})) {
        for (const manager of scoped.instanceGroupManagers ?? []) {
          const path = instanceGroupPath(manager.selfLink);
          if (path !== null && typeof manager.targetSize === 'number') sizes.set(path, manager.targetSize);
        }
      }
      pageToken = page.nextPageToken === '' ? undefined : page.nextPageToken;
    } while (pageToken !== undefined);
    return sizes;
  }
}

/** The instance group paths (`instanceGroupPath`) of `pools`. */
function groupPaths(pools: readonly NodePool[]): Set<string> {
  return new Set(pools.flatMap((pool) => (pool.instanceGroupUrls ?? []).map((url) => instanceGroupPath(url) ?? '')).filter((path) => path !== ''));
}
