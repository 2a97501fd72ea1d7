import type { ClusterUpgradeAction, ClusterUpgradePlan, EventData, UpgradePlan, UpgradePlanned } from '@flotilla/contracts';

export type UpgradePlannedData = EventData<typeof UpgradePlanned>;
type PlannedCluster = UpgradePlannedData['clusters'][number];

export interface PlannedEventDraft {
  data: UpgradePlannedData;
  /** Clusters and changes the event lists, out of how many the revision has. */
  listedClusters: number;
  totalClusters: number;
  listedChanges: number;
  totalChanges: number;
}

export interface PlannedEventOptions {
  /** Cap on the JSON payload; consumers dead-letter events over their limit. */
  maxBytes: number;
  /** Where the whole revision can be read, named in the event when it lists only part of it. */
  planHref: string;
}

/**
 * Clusters that need someone to act come first when not every cluster fits in one event: a
 * consumer learns about blockers and required upgrades before clusters with nothing to do.
 */
const PRIORITY: Record<ClusterUpgradeAction, number> = { blocked: 0, 'upgrade-before-global': 1, 'provider-action-required': 2, 'may-upgrade-after': 3, none: 4 };

/** Room kept for the notes that say the event is partial. */
const NOTE_RESERVE = 400;

/** One cluster of the plan in the event's shape. The event has no field for node-pool moves, so the reason carries them. */
export function toPlannedCluster(cluster: ClusterUpgradePlan): PlannedCluster {
  const moves = cluster.nodePoolMoves.map((m) => `${m.pool} to ${m.to} before ${m.beforeControlPlane}`).join(', ');
  const planned: PlannedCluster = {
    clusterId: cluster.clusterId,
    model: cluster.model,
    currentVersion: cluster.currentVersion,
    action: cluster.action,
    path: [...cluster.path],
    reason: moves.length > 0 ? `${cluster.reason}; move node pools first: ${moves}` : cluster.reason,
  };
  if (cluster.wave !== null) planned.wave = cluster.wave;
  return planned;
}

/**
 * Maps a plan revision onto UpgradePlanned. Every cluster and change is listed when the payload
 * fits `maxBytes`; otherwise clusters are listed by priority (blocked, required, provider,
 * optional, none), changes take at most half the room, and a closing change line says what was
 * left out and where the whole revision is.
 */
export function toUpgradePlannedData(plan: UpgradePlan, changes: readonly string[], options: PlannedEventOptions): PlannedEventDraft {
  const base: UpgradePlannedData = {
    fromRelease: plan.fromRelease,
    toRelease: plan.toRelease,
    policyRevision: plan.policyRevision,
    satisfiable: plan.satisfiable,
    clusters: [],
    changes: [],
  };
  const total = plan.clusters.length;
  const mapped = new Array<PlannedCluster | undefined>(total);
  const mappedAt = (index: number): PlannedCluster => (mapped[index] ??= toPlannedCluster(plan.clusters[index]!));

  // Measure as we go: a fleet of 100,000 is over the limit long before the end.
  let size = bytes(base) + changes.reduce((sum, change) => sum + bytes(change) + 1, 0);
  let fits = size <= options.maxBytes;
  for (let index = 0; fits && index < total; index++) {
    size += bytes(mappedAt(index)) + 1;
    fits = size <= options.maxBytes;
  }
  if (fits) {
    return { data: { ...base, clusters: mapped as PlannedCluster[], changes: [...changes] }, listedClusters: total, totalClusters: total, listedChanges: changes.length, totalChanges: changes.length };
  }

  let room = options.maxBytes - bytes(base) - NOTE_RESERVE;
  const listedChanges: string[] = [];
  let changeRoom = Math.floor(room / 2);
  for (const change of changes) {
    const changeSize = bytes(change) + 1;
    if (changeSize > changeRoom) break;
    listedChanges.push(change);
    changeRoom -= changeSize;
    room -= changeSize;
  }

  // Buckets by priority keep id order inside each bucket without sorting the whole fleet.
  const buckets: number[][] = [[], [], [], [], []];
  plan.clusters.forEach((cluster, index) => buckets[PRIORITY[cluster.action]]!.push(index));
  const chosen: number[] = [];
  fill: for (const bucket of buckets) {
    for (const index of bucket) {
      const clusterSize = bytes(mappedAt(index)) + 1;
      if (clusterSize > room) break fill;
      chosen.push(index);
      room -= clusterSize;
    }
  }
  chosen.sort((a, b) => a - b);

  const notes: string[] = [];
  if (listedChanges.length < changes.length) {
    notes.push(`${changes.length - listedChanges.length} more change(s) not listed here (event size limit): GET ${options.planHref}/revisions`);
  }
  if (chosen.length < total) {
    notes.push(`${total - chosen.length} of ${total} cluster(s) not listed here (event size limit), clusters needing action first: GET ${options.planHref}`);
  }
  return {
    data: { ...base, clusters: chosen.map(mappedAt), changes: [...listedChanges, ...notes] },
    listedClusters: chosen.length,
    totalClusters: total,
    listedChanges: listedChanges.length,
    totalChanges: changes.length,
  };
}

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
