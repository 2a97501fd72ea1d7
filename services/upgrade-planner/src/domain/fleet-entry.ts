import {
  classify,
  compareMinors,
  compareVersions,
  parseKubernetesVersion,
  type CloudEvent,
  type ClusterModel,
  type FleetCluster,
  type FleetNodePool,
  type ParsedKubernetesVersion,
} from '@flotilla/contracts';

/** One machine of a cluster as the facts describe it. Removed machines stay as tombstones. */
export interface FleetNode {
  name: string;
  role: 'control-plane' | 'worker';
  pool: string | null;
  /** As reported; null when no fact has said (e.g. a machine rolled for an upgrade). */
  kubeletVersion: string | null;
  /** Time of the fact that last described this node: older facts never overwrite newer ones. */
  time: string;
  removed: boolean;
}

/** The planner's view of one cluster, built only from facts (never from requests). */
export interface FleetEntry {
  id: string;
  model: ClusterModel | null;
  distribution: string | null;
  /** API server version as last reported. */
  controlPlaneVersion: string | null;
  /** Time of the fact that set `controlPlaneVersion`. */
  versionTime: string | null;
  /** Sorted by name. */
  nodes: FleetNode[];
  /**
   * The newest ClusterUpgraded: every node the cluster had then runs its version, so a node fact
   * older than it that arrives after it (from another consumer) takes that version, not its own.
   */
  upgraded: { toVersion: string; time: string } | null;
  deletedAt: string | null;
  lastEventTime: string;
}

/** Facts this projection reads; everything else leaves an entry as it is. */
export const FLEET_FACT_NAMES = ['NodesProvisioned', 'ClusterReady', 'ClusterImported', 'ClusterAdopted', 'ClusterVersionChanged', 'ClusterUpgraded', 'MachineReplaced', 'NodePoolScaled', 'ClusterDeleted'] as const;

export function emptyEntry(id: string, time: string): FleetEntry {
  return { id, model: null, distribution: null, controlPlaneVersion: null, versionTime: null, nodes: [], upgraded: null, deletedAt: null, lastEventTime: normalise(time) };
}

/**
 * The next entry after a fact. Facts come from several services over separate consumers, so they
 * arrive in any order: every field is last-writer-wins by event time, and a fact older than a
 * deletion is ignored. Returns the same object when the event changes nothing.
 */
export function evolve(entry: FleetEntry | undefined, event: CloudEvent): FleetEntry {
  const base = entry ?? emptyEntry(event.subject, event.time);
  const known = classify(event);
  if (!known) return base;
  const time = normalise(event.time);
  if (known.name !== 'ClusterDeleted' && base.deletedAt !== null) {
    // A late fact about the deleted cluster changes nothing; a newer one means the id was reused.
    if (time <= base.deletedAt) return base;
    return evolve(emptyEntry(base.id, time), event);
  }
  const next: FleetEntry = { ...base, lastEventTime: time > base.lastEventTime ? time : base.lastEventTime };
  switch (known.name) {
    case 'NodesProvisioned': {
      const { data } = known.event;
      let nodes = next.nodes;
      for (const node of data.nodes) {
        const previous = nodes.find((n) => n.name === node.name);
        nodes = upsertNode(nodes, {
          name: node.name,
          role: node.role,
          pool: node.pool ?? null,
          // A node listed again without its version keeps the one it had.
          kubeletVersion: kubeletAt(next, node.kubeletVersion ?? previous?.kubeletVersion ?? null, time),
          time,
          removed: false,
        });
      }
      return { ...next, model: next.model ?? data.model, nodes };
    }
    case 'ClusterReady': {
      const { data } = known.event;
      return setVersion({ ...next, model: data.model }, data.kubernetesVersion, time);
    }
    case 'ClusterImported': {
      const { data } = known.event;
      // Adopted by a later fact (the adoption set the version after this import): it stays public-cloud.
      const adoptedSince = next.model === 'public-cloud' && next.versionTime !== null && next.versionTime > time;
      return setVersion({ ...next, model: adoptedSince ? next.model : 'connected', distribution: data.distribution }, data.kubernetesVersion, time);
    }
    case 'ClusterAdopted': {
      // An imported cloud cluster Flotilla manages from now on: planned like the clusters it
      // created, with approved steps, no longer as a connected one.
      const { data } = known.event;
      return setVersion({ ...next, model: data.model }, data.kubernetesVersion, time);
    }
    case 'ClusterVersionChanged':
      return setVersion(next, known.event.data.kubernetesVersion, time);
    case 'ClusterUpgraded': {
      const { data } = known.event;
      // "The control plane and every node now run the target version."
      const nodes = next.nodes.map((node) => (node.removed || node.time > time ? node : { ...node, kubeletVersion: data.toVersion, time }));
      const upgraded = next.upgraded !== null && next.upgraded.time > time ? next.upgraded : { toVersion: data.toVersion, time };
      return setVersion({ ...next, model: next.model ?? data.model, nodes, upgraded }, data.toVersion, time);
    }
    case 'MachineReplaced': {
      const { data } = known.event;
      const old = next.nodes.find((n) => n.name === data.oldMachine.name);
      let nodes = upsertNode(next.nodes, {
        name: data.oldMachine.name,
        role: data.role,
        pool: data.pool ?? old?.pool ?? null,
        kubeletVersion: old?.kubeletVersion ?? null,
        time,
        removed: true,
      });
      nodes = upsertNode(nodes, {
        name: data.newMachine.name,
        role: data.role,
        pool: data.pool ?? old?.pool ?? null,
        // The new kubelet's version when the event says. Otherwise a like-for-like replacement runs
        // what the old machine ran; a machine rolled for an upgrade runs something we have not been told.
        kubeletVersion: kubeletAt(next, data.newMachine.kubeletVersion ?? (data.reason === 'upgrade' ? null : (old?.kubeletVersion ?? null)), time),
        time,
        removed: false,
      });
      return { ...next, model: next.model ?? data.model, nodes };
    }
    case 'NodePoolScaled': {
      // The pool's node set now: removed nodes go, listed ones are (still) there.
      const { data } = known.event;
      let nodes = next.nodes;
      for (const name of data.removed) {
        const old = nodes.find((n) => n.name === name);
        nodes = upsertNode(nodes, { name, role: old?.role ?? 'worker', pool: old?.pool ?? data.pool, kubeletVersion: old?.kubeletVersion ?? null, time, removed: true });
      }
      for (const node of data.nodes) {
        const previous = nodes.find((n) => n.name === node.name);
        nodes = upsertNode(nodes, { name: node.name, role: node.role, pool: node.pool ?? data.pool, kubeletVersion: kubeletAt(next, node.kubeletVersion ?? previous?.kubeletVersion ?? null, time), time, removed: false });
      }
      return { ...next, model: next.model ?? data.model, nodes };
    }
    case 'ClusterDeleted':
      if (base.deletedAt !== null && base.deletedAt >= time) return base;
      return { ...next, model: next.model ?? known.event.data.model, deletedAt: time, controlPlaneVersion: null, versionTime: time, nodes: [], upgraded: null };
    default:
      return base;
  }
}

/** A node's kubelet as of a fact at `time`: an upgrade completed after it moved the node on. */
function kubeletAt(entry: FleetEntry, reported: string | null, time: string): string | null {
  return entry.upgraded !== null && entry.upgraded.time > time ? entry.upgraded.toVersion : reported;
}

function setVersion(entry: FleetEntry, version: string, time: string): FleetEntry {
  if (entry.versionTime !== null && entry.versionTime > time) return entry;
  return { ...entry, controlPlaneVersion: version, versionTime: time };
}

function upsertNode(nodes: FleetNode[], node: FleetNode): FleetNode[] {
  const index = nodes.findIndex((n) => n.name === node.name);
  if (index < 0) return [...nodes, node].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (nodes[index]!.time > node.time) return nodes;
  const copy = nodes.slice();
  copy[index] = node;
  return copy;
}

/** Event times may carry offsets; stored and compared as UTC ISO strings, which sort by time. */
function normalise(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

/** Pool of a node for the planner: control-plane machines form their own pool. */
export function poolOf(node: Pick<FleetNode, 'role' | 'pool'>): string {
  return node.role === 'control-plane' ? 'control-plane' : (node.pool ?? 'workers');
}

/**
 * The planner's input for an entry, or undefined while the cluster cannot be planned (deleted,
 * or no API server version reported yet). Nodes with no known version are left out: the planner
 * cannot judge skew from a guess.
 */
export function toFleetCluster(entry: FleetEntry): FleetCluster | undefined {
  if (entry.deletedAt !== null || entry.model === null || entry.controlPlaneVersion === null) return undefined;
  const cluster: FleetCluster = { id: entry.id, model: entry.model, controlPlaneVersion: intern(entry.controlPlaneVersion), nodePools: nodePools(entry.nodes, entry.controlPlaneVersion) };
  if (entry.distribution !== null) cluster.distribution = intern(entry.distribution);
  return cluster;
}

/**
 * One version per pool. The planner takes a single kubelet version per pool, and a pool mid-roll
 * has several: the one that matters is a kubelet newer than the API server (never allowed) if
 * there is one, else the oldest (the one skew can push out). An unparseable one wins, so the
 * planner names it.
 */
export function nodePools(nodes: readonly FleetNode[], controlPlaneVersion: string): FleetNodePool[] {
  const apiServer = parsed(controlPlaneVersion);
  const chosen = new Map<string, { version: string; rank: number; parsed: ParsedKubernetesVersion | undefined }>();
  for (const node of nodes) {
    if (node.removed || node.kubeletVersion === null) continue;
    const version = parsed(node.kubeletVersion);
    const rank = version === undefined ? 2 : apiServer !== undefined && compareMinors(version, apiServer) > 0 ? 1 : 0;
    const name = poolOf(node);
    const current = chosen.get(name);
    if (
      current === undefined ||
      rank > current.rank ||
      (rank === current.rank && rank === 1 && compareVersions(version!, current.parsed!) > 0) ||
      (rank === current.rank && rank === 0 && compareVersions(version!, current.parsed!) < 0)
    ) {
      chosen.set(name, { version: node.kubeletVersion, rank, parsed: version });
    }
  }
  return [...chosen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, { version }]) => ({ name: intern(name), version: intern(version) }));
}

// Versions repeat across a fleet: a bounded memo keeps loading 100,000 clusters from parsing each one.
const PARSED = new Map<string, ParsedKubernetesVersion | null>();
const PARSED_LIMIT = 10_000;

// Every row decodes its own copy of "v1.31.4" or "workers": the view keeps one of each, which
// is most of its memory at 100,000 clusters.
const INTERNED = new Map<string, string>();

function intern(text: string): string {
  const known = INTERNED.get(text);
  if (known !== undefined) return known;
  if (INTERNED.size >= PARSED_LIMIT) INTERNED.clear();
  INTERNED.set(text, text);
  return text;
}

function parsed(text: string): ParsedKubernetesVersion | undefined {
  let hit = PARSED.get(text);
  if (hit === undefined) {
    const result = parseKubernetesVersion(text);
    hit = result.ok ? result.version : null;
    if (PARSED.size >= PARSED_LIMIT) PARSED.clear();
    PARSED.set(text, hit);
  }
  return hit ?? undefined;
}
