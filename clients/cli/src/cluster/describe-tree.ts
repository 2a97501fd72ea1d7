import type { ClusterDetail, Condition, ConnectedClusterView, FleetAnswer, Machine, ProvisionerCluster, SupportMatrixView } from '../api/types.js';
import { responsibilities } from '../models/catalogue.js';
import type { TreeNode } from '../output/tree.js';
import { operationText } from './goals.js';
import { versionStatus } from './version-status.js';

/** What `describe cluster` gathered: the inventory's cluster, and what the other services add when they know it. */
export interface ClusterFacts {
  cluster: ClusterDetail;
  provisioner?: ProvisionerCluster | undefined;
  /** The importer's view, for a connected cluster. */
  connected?: ConnectedClusterView | undefined;
  fleet?: FleetAnswer | undefined;
  matrix?: SupportMatrixView | undefined;
}

type Ready = Pick<TreeNode, 'ready' | 'severity' | 'reason' | 'since' | 'message'>;

/** A line without status: its value beside its name, so the tree reads like a spec. */
const info = (name: string, value?: string, children?: TreeNode[]): TreeNode => ({ name: value ? `${name}: ${value}` : name, ...(children ? { children } : {}) });

function clusterReadiness(cluster: ClusterDetail): Ready {
  const reason = cluster.lastRefusal?.reasons[0] ?? cluster.reasons[0];
  switch (cluster.status) {
    case 'Running':
      return { ready: 'True', since: cluster.lastEventTime, ...(cluster.warnings[0] ? { severity: 'Warning', reason: cluster.warnings[0].code, message: cluster.warnings[0].message } : {}) };
    case 'Failed':
    case 'Rejected':
      return { ready: 'False', severity: 'Error', reason: reason?.code ?? cluster.status, since: cluster.lastEventTime, message: reason?.message ?? '' };
    case 'Deleted':
      return { ready: 'False', severity: 'Info', reason: 'Deleted', since: cluster.lastEventTime };
    case 'Pending':
    case 'Provisioning':
    case 'Importing':
      return { ready: 'False', severity: 'Info', reason: cluster.status, since: cluster.lastEventTime, message: cluster.pendingRequests.map((request) => request.summary).join('; ') };
  }
}

function conditionNode(condition: Condition): TreeNode {
  const ready = condition.status;
  return {
    name: condition.type,
    ready,
    ...(ready === 'True' ? {} : { severity: ready === 'False' ? 'Warning' : 'Info' }),
    reason: condition.reason,
    since: condition.lastTransitionTime,
    message: condition.message ?? '',
  };
}

function machineNode(machine: Machine): TreeNode {
  const readyCondition = machine.conditions.find((condition) => condition.type === 'Ready' || condition.type === 'NodeReady');
  const since = readyCondition?.lastTransitionTime;
  const label = `Machine/${machine.name}${machine.host ? ` (${machine.host})` : ''}`;
  const version = machine.kubeletVersion ?? machine.kubernetesVersion;
  if (machine.phase === 'Running') return { name: label, ready: 'True', ...(since ? { since } : {}), message: version };
  if (machine.phase === 'Failed') {
    return { name: label, ready: 'False', severity: 'Error', reason: machine.failureReason?.code ?? 'Failed', ...(since ? { since } : {}), message: machine.failureReason?.message ?? '' };
  }
  return { name: label, ready: 'False', severity: 'Info', reason: machine.phase, ...(since ? { since } : {}), message: readyCondition?.message ?? version };
}

/** Machines of one group (control plane or a pool) under a line per state: Running (2), Provisioning (1)... */
function machinesByState(machines: readonly Machine[]): TreeNode[] {
  const states = new Map<string, Machine[]>();
  for (const machine of machines) states.set(machine.phase, [...(states.get(machine.phase) ?? []), machine]);
  return [...states.entries()].map(([phase, group]) => info(`${phase} (${group.length})`, undefined, group.map(machineNode)));
}

function groupReadiness(ready: number, total: number): Ready {
  return ready === total ? { ready: 'True', message: `${ready}/${total} ready` } : { ready: 'False', severity: 'Info', reason: 'ScalingOrProvisioning', message: `${ready}/${total} ready` };
}

function machineGroups(facts: ClusterFacts): TreeNode[] {
  const { cluster, provisioner } = facts;
  const progress = cluster.progress;
  const machines = provisioner?.machines ?? [];
  const controlPlaneMachines = machines.filter((machine) => machine.role === 'control-plane');
  const pools = [...new Set([...(progress?.nodePools.map((pool) => pool.pool) ?? []), ...machines.filter((m) => m.role === 'worker').map((m) => m.pool ?? '(no pool)')])].sort();
  const groups: TreeNode[] = [];
  if (cluster.model === 'connected') {
    const count = facts.connected?.nodeCount ?? (cluster.nodes.length > 0 ? cluster.nodes.length : null);
    groups.push(info('Nodes', count === null ? 'not reported yet' : `${count} reported by the cluster (its provider manages them)`));
    return groups;
  }
  const cp = progress?.controlPlane ?? { ready: controlPlaneMachines.filter((m) => m.phase === 'Running').length, total: controlPlaneMachines.length };
  const cpName =
    cluster.model === 'hosted-control-plane' ? 'ControlPlane (hosted in a management cluster)' : cluster.model === 'public-cloud' ? 'ControlPlane (run by the cloud)' : 'ControlPlane';
  groups.push({ name: cpName, ...(cp.total > 0 ? groupReadiness(cp.ready, cp.total) : {}), children: machinesByState(controlPlaneMachines) });
  for (const pool of pools) {
    const poolMachines = machines.filter((machine) => machine.role === 'worker' && (machine.pool ?? '(no pool)') === pool);
    const counted = progress?.nodePools.find((entry) => entry.pool === pool) ?? { ready: poolMachines.filter((m) => m.phase === 'Running').length, total: poolMachines.length };
    groups.push({ name: `NodePool/${pool}`, ...groupReadiness(counted.ready, counted.total), children: machinesByState(poolMachines) });
  }
  if (!provisioner && machines.length === 0 && cluster.nodes.length > 0) groups.push(info('Nodes', `${cluster.nodes.length} (the provisioner's machines could not be read)`));
  return groups;
}

function specNode(facts: ClusterFacts): TreeNode {
  const { cluster, provisioner } = facts;
  const children: TreeNode[] = [
    info('Model', cluster.model ?? 'not known yet'),
    info('Name', cluster.name ?? ''),
    info('Kubernetes', `${cluster.kubernetesVersion ?? 'unknown'}${provisioner && provisioner.requestedVersion !== provisioner.kubernetesVersion ? ` (requested ${provisioner.requestedVersion})` : ''}`),
  ];
  const provider = cluster.provider ?? cluster.distribution;
  if (provider) children.push(info('Provider', provider));
  if (cluster.region) children.push(info('Region', cluster.region));
  if (provisioner?.release) children.push(info('Release', `created under platform release ${provisioner.release}`));
  const connected = facts.connected;
  if (connected) {
    if (connected.apiServer) children.push(info('API server', connected.apiServer));
    if (connected.cloud) children.push(info('Cloud', Object.values(connected.cloud).join(', ')));
    if (connected.distribution) children.push(info('Distribution', connected.distribution));
    children.push(info('Credential', connected.credentialRef));
  }
  if (Object.keys(cluster.labels).length > 0) children.push(info('Labels', Object.entries(cluster.labels).map(([key, value]) => `${key}=${value}`).join(', ')));
  if (cluster.model) children.push(info('Responsibilities', undefined, responsibilities(cluster.model).map((row) => info(row.area, row.party))));
  return info('Spec', undefined, children);
}

function versionNode(facts: ClusterFacts): TreeNode | undefined {
  const { cluster, fleet, matrix } = facts;
  const children: TreeNode[] = [];
  if (matrix) {
    for (const verdict of versionStatus(cluster.kubernetesVersion, cluster.model, matrix)) {
      children.push({ name: verdict.release === matrix.platformRelease.release ? `Release ${verdict.release} (in force)` : verdict.release === '' ? 'Next release' : `Release ${verdict.release} (next)`, ready: verdict.ok ? 'True' : 'False', ...(verdict.ok ? {} : { severity: 'Warning', reason: 'VersionPolicy' }), message: verdict.message });
    }
  }
  if (fleet?.plannable) {
    const pools = fleet.plannable.nodePools.map((pool) => `${pool.name} ${pool.version}`).join(', ');
    children.push(info('Planner', `control plane ${fleet.plannable.controlPlaneVersion}${pools ? `; pools ${pools}` : ''}`));
  } else if (fleet) {
    children.push(info('Planner', 'known but not plannable (no version reported yet, or deleted)'));
  }
  if (children.length === 0) return undefined;
  return info(`Version${matrix ? ` (policy: release ${matrix.platformRelease.release}, matrix ${matrix.revision})` : ''}`, undefined, children);
}

function accessNode(cluster: ClusterDetail): TreeNode {
  if (cluster.access === 'tunnel') {
    const connected = cluster.tunnel === 'connected';
    return { name: 'Tunnel', ready: connected ? 'True' : 'False', ...(connected ? {} : { severity: 'Warning', reason: cluster.tunnel === null ? 'AgentNotConnectedYet' : 'Disconnected' }), message: 'reached through the tunnel its agent dials out' };
  }
  const reachable = cluster.reachable;
  return { name: 'Access', ...(reachable === null ? {} : reachable ? { ready: 'True' } : { ready: 'False', severity: 'Warning', reason: 'Unreachable' }), message: cluster.access ? `${cluster.access} (no tunnel)` : 'not known yet' };
}

/** The tree of `describe cluster`, in the style of clusterctl. */
export function describeTree(facts: ClusterFacts): TreeNode[] {
  const { cluster, provisioner } = facts;
  const children: TreeNode[] = [specNode(facts)];
  const conditions = provisioner?.conditions ?? [];
  const reasons = [...(cluster.lastRefusal?.reasons ?? []), ...cluster.reasons, ...cluster.warnings];
  if (conditions.length > 0 || reasons.length > 0) {
    children.push(
      info('Conditions', undefined, [
        ...conditions.map(conditionNode),
        ...reasons.map((reason) => ({ name: `Reason/${reason.code}`, severity: 'Warning' as const, reason: reason.code, message: `${reason.field ? `${reason.field}: ` : ''}${reason.message}` })),
      ]),
    );
  }
  if (cluster.progress?.operation) children.push(info('Operation', operationText(cluster.progress.operation)));
  if (cluster.pendingRequests.length > 0) children.push(info('Pending', undefined, cluster.pendingRequests.map((request) => ({ name: request.type, since: request.time, message: request.summary }))));
  children.push(...machineGroups(facts));
  const version = versionNode(facts);
  if (version) children.push(version);
  children.push(accessNode(cluster));
  return [{ name: `Cluster/${cluster.id}`, ...clusterReadiness(cluster), children }];
}
