import { classify, type CloudEvent, type ClusterModel, type Node, type Reason } from '@flotilla/contracts';

export const CLUSTER_STATUSES = ['Pending', 'Provisioning', 'Running', 'Failed', 'Importing', 'Rejected', 'Deleted'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

/** What the fleet read model knows about one cluster. */
export interface ClusterView {
  id: string;
  name: string | null;
  model: ClusterModel | null;
  /** The labels it was requested or imported with: what label-scoped callers are limited by. */
  labels: Record<string, string>;
  status: ClusterStatus;
  kubernetesVersion: string | null;
  distribution: string | null;
  nodes: Node[];
  reasons: Reason[];
  warnings: Reason[];
  reachable: boolean | null;
  tunnel: 'connected' | 'disconnected' | null;
  lastEventTime: string;
}

/**
 * How far along its lifecycle a status is. Events can arrive out of order (they come from
 * different services); a late NodesProvisioned must not take a Running cluster back.
 */
const PROGRESS: Record<ClusterStatus, number> = { Pending: 0, Importing: 0, Provisioning: 1, Running: 2, Failed: 3, Rejected: 3, Deleted: 4 };

function advance(current: ClusterStatus, next: ClusterStatus): ClusterStatus {
  return PROGRESS[next] >= PROGRESS[current] ? next : current;
}

function reimportable(status: ClusterStatus): boolean {
  return status === 'Rejected' || status === 'Deleted';
}

function empty(id: string, time: string): ClusterView {
  return { id, name: null, model: null, labels: {}, status: 'Pending', kubernetesVersion: null, distribution: null, nodes: [], reasons: [], warnings: [], reachable: null, tunnel: null, lastEventTime: time };
}

function mergeNodes(current: Node[], incoming: Node[]): Node[] {
  const byName = new Map(current.map((node) => [node.name, node]));
  for (const node of incoming) byName.set(node.name, node);
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The projection: the next view of a cluster after an event, or `undefined` when the event says
 * nothing about a cluster's state (plans, rejections: they only go to the history).
 */
export function evolve(view: ClusterView | undefined, event: CloudEvent): ClusterView | undefined {
  const known = classify(event);
  if (!known) return undefined;
  const base = view ?? empty(event.subject, event.time);
  const next: ClusterView = { ...base, lastEventTime: event.time > base.lastEventTime ? event.time : base.lastEventTime };
  switch (known.name) {
    case 'ClusterRequested': {
      const { data } = known.event;
      return { ...next, name: data.name, model: data.model, labels: view ? next.labels : (data.labels ?? {}), kubernetesVersion: next.kubernetesVersion ?? data.kubernetesVersion, status: advance(next.status, 'Pending') };
    }
    case 'NodesProvisioned':
      return { ...next, model: next.model ?? known.event.data.model, nodes: mergeNodes(next.nodes, known.event.data.nodes), status: advance(next.status, 'Provisioning') };
    case 'ClusterReady':
      return { ...next, model: next.model ?? known.event.data.model, kubernetesVersion: known.event.data.kubernetesVersion, status: advance(next.status, 'Running'), reasons: [] };
    case 'ClusterProvisioningFailed':
      return { ...next, status: advance(next.status, 'Failed'), reasons: known.event.data.reasons };
    case 'MachineReplaced': {
      const { data } = known.event;
      return { ...next, nodes: next.nodes.filter((node) => node.name !== data.oldMachine.name) };
    }
    case 'ClusterUpgraded':
      return { ...next, kubernetesVersion: known.event.data.toVersion };
    case 'ClusterVersionChanged':
      return { ...next, kubernetesVersion: known.event.data.kubernetesVersion };
    case 'ClusterDeleted':
      return { ...next, status: 'Deleted', nodes: [] };
    case 'ClusterImportRequested': {
      // A rejected or deleted connected cluster may be imported again. A request naming any other
      // existing cluster changes nothing (least of all its labels, which scoped access follows):
      // the history shows it, and the importer refuses it.
      const fresh = !view || (view.model === 'connected' && reimportable(view.status));
      if (!fresh) return undefined;
      return { ...next, name: known.event.data.name, model: 'connected', labels: known.event.data.labels ?? {}, reasons: [], status: reimportable(next.status) ? 'Importing' : advance(next.status, 'Importing') };
    }
    case 'ClusterImported': {
      const { data } = known.event;
      const status = next.status === 'Deleted' ? 'Deleted' : 'Running';
      return { ...next, name: data.name, model: 'connected', kubernetesVersion: data.kubernetesVersion, distribution: data.distribution, warnings: data.warnings, reachable: true, reasons: [], status };
    }
    case 'ImportRejected':
      return { ...next, model: next.model ?? 'connected', status: advance(next.status, 'Rejected'), reasons: known.event.data.reasons };
    case 'ClusterUnreachable':
      return { ...next, reachable: false };
    case 'ClusterReachable':
      return { ...next, reachable: true };
    case 'TunnelConnected':
      return view ? { ...next, tunnel: 'connected' } : undefined;
    case 'TunnelDisconnected':
      return view ? { ...next, tunnel: 'disconnected' } : undefined;
    case 'NodePoolScaled': {
      const { data } = known.event;
      const removed = new Set(data.removed);
      return { ...next, nodes: mergeNodes(next.nodes.filter((node) => !removed.has(node.name)), data.nodes) };
    }
    // Requests and plans: the history shows them; the outcome events change the cluster.
    case 'NodePoolScaleRequested':
    case 'ClusterDeletionRequested':
    case 'UpgradeStepApproved':
    case 'UpgradeStepFailed':
    case 'UpgradePlanRequested':
    case 'UpgradePlanned':
    case 'EventRejected':
      return undefined;
  }
}

/** One line of a cluster's history, for operators following a request across services. */
export function summarise(event: CloudEvent): string {
  const known = classify(event);
  if (!known) return event.type;
  switch (known.name) {
    case 'ClusterProvisioningFailed':
    case 'ImportRejected':
      return `${known.name}: ${known.event.data.reasons.map((reason) => reason.message).join('; ')}`;
    case 'NodesProvisioned':
      return `${known.name}: ${known.event.data.nodes.length} node(s)`;
    case 'EventRejected':
      return `${known.name}: ${known.event.data.code}: ${known.event.data.reason}`;
    default:
      return known.name;
  }
}
