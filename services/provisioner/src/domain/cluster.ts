import { checkControlPlaneStep, checkKubeletSkew, defaultSupportMatrix, isCompatible, parseKubernetesVersion, type ClusterModel, type ClusterSpec, type Node, type Reason, type SupportMatrix } from '@flotilla/contracts';
import { setConditions, type Condition, type ConditionUpdate } from './conditions.js';
import { controlPlaneIsHosted, machineSource, planMachines, type HostRef, type MachineRole, type PlannedMachine } from './machine-plan.js';
import { reason, type ProvisionerReason, type ReasonCode } from './reasons.js';
import { validateClusterRequest } from './spec-validation.js';

/*
 * The cluster and machine lifecycle, in the spirit of Cluster API: a Cluster owns Machines; each
 * Machine goes Pending -> Provisioning (the provider has it) -> Provisioned (infrastructure up,
 * addresses known) -> Running (joined as a node) -> Deleting (drained, released) -> gone. The
 * cluster follows its machines and is Running when every machine is. Once Running, node pools
 * scale, unhealthy machines are replaced (surge: the new one first), upgrades replace machines
 * one at a time (or upgrade users' hosts in place), and deletion releases every machine.
 * Commands come from the bus and from the reconciler (what it observed at the provider or the
 * node); `decide` turns them into events, `evolve` folds events into state. Both are pure: no
 * clock (time comes in the command), no I/O.
 */

export const CLUSTER_PHASES = ['Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Deleted', 'Failed'] as const;
export type ClusterPhase = (typeof CLUSTER_PHASES)[number];
export const MACHINE_PHASES = ['Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Failed'] as const;
export type MachinePhase = (typeof MACHINE_PHASES)[number];

export type ReplaceReason = 'unhealthy' | 'upgrade';

/** Why a machine is being released. */
export interface MachineRemoval {
  reason: 'scale-down' | 'replaced' | 'failed' | 'cluster-deleted';
  /** For `replaced`: the machine that took its place, and why. */
  replacedBy?: string;
  replaceReason?: ReplaceReason;
}

export interface MachineState {
  name: string;
  role: MachineRole;
  pool: string | null;
  machineSize: string | null;
  host: HostRef | null;
  phase: MachinePhase;
  providerId: string | null;
  addresses: string[];
  /** The Kubernetes version the machine is made and joined on (an upgrade's replacements: the new one). */
  kubernetesVersion: string;
  kubeletVersion: string | null;
  failureReason: Reason | null;
  /** Provisioning must be over by then (set when it starts). */
  deadline: string | null;
  conditions: Condition[];
  /** A replacement: the machine it takes the place of once it runs. */
  replaces: { machine: string; reason: ReplaceReason } | null;
  /** Set while the machine is Deleting. */
  removal: MachineRemoval | null;
  /** Since when its node has not been Ready (machine health check). */
  unhealthySince: string | null;
  /** An in-place upgrade asked of its node (users' hosts; platform machines are replaced instead). */
  upgrade: { toVersion: string; first: boolean } | null;
}

/** What the cluster is doing besides running; one at a time. */
export type ClusterOperation =
  | { kind: 'scale'; pool: string; from: number; to: number; removed: string[]; startedAt: string }
  | { kind: 'upgrade'; planId: string; fromVersion: string; toVersion: string; startedAt: string; policyRevision?: string }
  | { kind: 'delete'; reason: string | null; startedAt: string };

export interface ClusterState {
  id: string;
  name: string;
  model: ClusterSpec['model'];
  /** The request as it was made; what changed since is in the machines and `kubernetesVersion`. */
  spec: ClusterSpec;
  /** The platform release the request was judged under. */
  release: string;
  /** The support-matrix revision the request was judged under (null: decided before revisions were recorded). */
  policyRevision: string | null;
  /** The version the cluster is on: the requested one until an upgrade step completes. */
  kubernetesVersion: string;
  phase: ClusterPhase;
  conditions: Condition[];
  failureReasons: Reason[];
  machines: MachineState[];
  operation: ClusterOperation | null;
  requestedAt: string;
}

// ---- commands ----------------------------------------------------------------------------------

export interface RequestCluster {
  type: 'RequestCluster';
  clusterId: string;
  spec: ClusterSpec;
  release: string;
  /** The support matrix in force (the shipped one when absent). */
  matrix?: SupportMatrix;
  /** Infrastructure providers available here, by name. */
  providers: readonly string[];
  at: string;
}

/** What the reconciler saw of one machine at the provider (or the node bootstrap). */
export type MachineObservation =
  | { kind: 'infrastructure-pending'; providerId: string; addresses: string[] }
  | { kind: 'infrastructure-ready'; providerId: string; addresses: string[] }
  | { kind: 'node-joining' }
  | { kind: 'node-joined'; kubeletVersion: string }
  | { kind: 'failed'; code: 'machine-failed' | 'machine-timeout' | 'provider-error'; message: string }
  | { kind: 'node-ready' }
  | { kind: 'node-not-ready'; message: string }
  | { kind: 'node-upgrading' }
  | { kind: 'node-upgraded'; kubeletVersion: string }
  | { kind: 'upgrade-failed'; message: string }
  | { kind: 'machine-deleted' };

/** Cluster API's MachineHealthCheck settings. */
export interface HealthPolicy {
  /** A node not Ready for this long is remediated. */
  unhealthyTimeoutMs: number;
  /** More unhealthy machines than this and nothing is remediated (an outage is not fixed by replacing everything). */
  maxUnhealthy: MaxUnhealthy;
}

export type MaxUnhealthy = { kind: 'count'; value: number } | { kind: 'percent'; value: number };

export interface ObserveMachine {
  type: 'ObserveMachine';
  clusterId: string;
  machine: string;
  observation: MachineObservation;
  /** How long a machine may take from the start of provisioning to Running, while the cluster is provisioned. */
  timeoutMs: number;
  /** The same for machines made once the cluster runs (scale-up, replacements); `timeoutMs` when absent. */
  startupTimeoutMs?: number;
  /** Machine health checks; without it an unhealthy node is only recorded. */
  health?: HealthPolicy;
  at: string;
}

/** A host users add to a pool that runs on their machines. */
export type NewHost = HostRef & { pool?: string | undefined; role?: MachineRole | undefined };

export interface ScaleNodePool {
  type: 'ScaleNodePool';
  clusterId: string;
  pool: string;
  count: number;
  /** Pools on users' hosts, scaling up: the hosts to add. */
  hosts?: readonly NewHost[];
  at: string;
}

export interface RequestDeletion {
  type: 'RequestDeletion';
  clusterId: string;
  reason?: string;
  at: string;
}

export interface ApproveUpgradeStep {
  type: 'ApproveUpgradeStep';
  clusterId: string;
  planId: string;
  toVersion: string;
  /** The platform release of the global cluster: the target must be compatible with it. */
  release: string;
  /** The support matrix in force (the shipped one when absent). */
  matrix?: SupportMatrix;
  at: string;
}

export type ClusterCommand = RequestCluster | ObserveMachine | ScaleNodePool | RequestDeletion | ApproveUpgradeStep;

// ---- events ------------------------------------------------------------------------------------

/** A machine made once the cluster exists (scale-up, replacement), on a given version. */
export interface NewMachine extends PlannedMachine {
  kubernetesVersion: string;
  replaces: { machine: string; reason: ReplaceReason } | null;
}

export interface UpgradeFacts {
  clusterId: string;
  model: ClusterModel;
  planId: string;
  fromVersion: string;
  toVersion: string;
  /** The support-matrix revision the step was judged under. */
  policyRevision?: string;
  at: string;
}

export type ClusterEvent =
  | { type: 'ClusterAccepted'; clusterId: string; spec: ClusterSpec; release: string; policyRevision?: string; machines: PlannedMachine[]; at: string }
  | { type: 'ClusterRejected'; clusterId: string; spec: ClusterSpec; release: string; policyRevision?: string; reasons: ProvisionerReason[]; at: string }
  | { type: 'MachineProvisioningStarted'; clusterId: string; machine: string; providerId: string; addresses: string[]; deadline: string; at: string }
  | { type: 'MachineProvisioned'; clusterId: string; machine: string; providerId: string; addresses: string[]; at: string }
  | { type: 'MachineRunning'; clusterId: string; machine: string; kubeletVersion: string; at: string }
  | { type: 'MachineFailed'; clusterId: string; machine: string; reason: ProvisionerReason; at: string }
  | { type: 'ClusterInfrastructureReady'; clusterId: string; at: string }
  | { type: 'ClusterRunning'; clusterId: string; model: ClusterModel; kubernetesVersion: string; nodes: Node[]; release?: string; policyRevision?: string; at: string }
  | { type: 'ClusterFailed'; clusterId: string; model: ClusterModel; reasons: ProvisionerReason[]; at: string }
  // once Running
  | { type: 'NodesJoined'; clusterId: string; model: ClusterModel; nodes: Node[]; at: string }
  | { type: 'MachinesAdded'; clusterId: string; machines: NewMachine[]; at: string }
  | { type: 'MachineRemovalStarted'; clusterId: string; machine: string; removal: MachineRemoval; at: string }
  | { type: 'MachineDeleted'; clusterId: string; machine: string; at: string }
  | { type: 'MachineReplaced'; clusterId: string; model: ClusterModel; role: MachineRole; pool: string | null; reason: ReplaceReason; oldMachine: MachineRef; newMachine: MachineRef; at: string }
  | { type: 'MachineUnhealthy'; clusterId: string; machine: string; message: string; at: string }
  | { type: 'MachineHealthy'; clusterId: string; machine: string; at: string }
  | { type: 'RemediationBlocked'; clusterId: string; unhealthy: number; total: number; allowed: number; at: string }
  | { type: 'RemediationAllowed'; clusterId: string; at: string }
  | { type: 'NodePoolScalingStarted'; clusterId: string; pool: string; from: number; to: number; at: string }
  | { type: 'NodePoolScaled'; clusterId: string; model: ClusterModel; pool: string; from: number; to: number; requested: number; nodes: Node[]; removed: string[]; at: string }
  | ({ type: 'UpgradeStarted' } & UpgradeFacts)
  | ({ type: 'UpgradeStepRejected'; reasons: ProvisionerReason[] } & UpgradeFacts)
  | { type: 'MachineUpgradeStarted'; clusterId: string; machine: string; toVersion: string; first: boolean; at: string }
  | { type: 'MachineUpgraded'; clusterId: string; machine: string; kubernetesVersion: string; kubeletVersion: string; at: string }
  | ({ type: 'ClusterUpgraded' } & UpgradeFacts)
  | ({ type: 'UpgradeFailed'; reasons: ProvisionerReason[] } & UpgradeFacts)
  | { type: 'ClusterDeletionStarted'; clusterId: string; reason: string | null; at: string }
  | { type: 'ClusterDeleted'; clusterId: string; model: ClusterModel; at: string };

export interface MachineRef {
  name: string;
  providerId: string | null;
  kubeletVersion: string | null;
}

export type ProvisionerErrorCode =
  | 'cluster-exists'
  | 'cluster-not-found'
  | 'machine-not-found'
  | 'cluster-not-running'
  | 'cluster-deleting'
  | 'cluster-busy'
  | 'node-pool-unknown'
  | 'scale-hosts-mismatch'
  | 'scale-hosts-not-allowed'
  | 'host-duplicate';

/** A command that contradicts the state: it can never succeed, whatever the retry. */
export class ProvisionerError extends Error {
  override readonly name = 'ProvisionerError';
  constructor(
    readonly code: ProvisionerErrorCode,
    message: string,
    /** The input field at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}

// ---- decide ------------------------------------------------------------------------------------

export function decide(command: ClusterCommand, state: ClusterState | undefined): ClusterEvent[] {
  switch (command.type) {
    case 'RequestCluster':
      return decideRequest(command, state);
    case 'ObserveMachine':
      return decideObservation(command, state);
    case 'ScaleNodePool':
      return decideScale(command, known(state, command.clusterId));
    case 'RequestDeletion':
      return decideDeletion(command, known(state, command.clusterId));
    case 'ApproveUpgradeStep':
      return decideUpgrade(command, known(state, command.clusterId));
  }
}

function known(state: ClusterState | undefined, clusterId: string): ClusterState {
  if (!state) throw new ProvisionerError('cluster-not-found', `cluster "${clusterId}" is not known here`);
  return state;
}

function decideRequest(command: RequestCluster, state: ClusterState | undefined): ClusterEvent[] {
  const { clusterId, spec, release, at } = command;
  if (state) {
    // The same request again (a retry with a new event id): nothing more to do.
    if (canonicalJson(state.spec) === canonicalJson(spec)) return [];
    throw new ProvisionerError('cluster-exists', `cluster "${clusterId}" was already requested with a different spec`);
  }
  const matrix = command.matrix ?? defaultSupportMatrix;
  const policyRevision = matrix.revision;
  const reasons = validateClusterRequest({ clusterId, spec, release, providers: command.providers, matrix });
  if (reasons.length > 0) return [{ type: 'ClusterRejected', clusterId, spec, release, policyRevision, reasons, at }];
  return [{ type: 'ClusterAccepted', clusterId, spec, release, policyRevision, machines: planMachines(clusterId, spec), at }];
}

/** The hosted control plane found no room: the accepted request is refused after all. */
export function refuseForPlacement(accepted: Extract<ClusterEvent, { type: 'ClusterAccepted' }>, code: 'no-management-cluster' | 'management-capacity-exhausted', message: string): ClusterEvent {
  return {
    type: 'ClusterRejected',
    clusterId: accepted.clusterId,
    spec: accepted.spec,
    release: accepted.release,
    ...(accepted.policyRevision === undefined ? {} : { policyRevision: accepted.policyRevision }),
    reasons: [reason(code, message, 'hosted')],
    at: accepted.at,
  };
}

function decideObservation(command: ObserveMachine, state: ClusterState | undefined): ClusterEvent[] {
  const { clusterId, observation, at } = command;
  if (!state) throw new ProvisionerError('cluster-not-found', `cluster "${clusterId}" is not known here`);
  const machine = state.machines.find((candidate) => candidate.name === command.machine);
  if (!machine) throw new ProvisionerError('machine-not-found', `cluster "${clusterId}" has no machine "${command.machine}"`);
  const base = { clusterId, machine: machine.name, at };

  switch (machine.phase) {
    case 'Failed':
      return [];
    case 'Deleting':
      return observation.kind === 'machine-deleted' ? settle(state, deleted(state, machine, at), at) : [];
    case 'Running':
      return state.phase === 'Running' ? decideRunningMachine(command, state, machine) : [];
    case 'Pending':
    case 'Provisioning':
    case 'Provisioned':
      break;
  }

  if (state.phase !== 'Running' && !isProvisioning(state.phase)) {
    // A failed cluster still records what became of its machines, but nothing moves forward.
    return observation.kind === 'failed' ? [{ type: 'MachineFailed', ...base, reason: reason(observation.code, observation.message) }] : [];
  }

  // Coming up: the cluster's first machines, or new ones of a Running cluster.
  const initial = isProvisioning(state.phase);
  const timeoutMs = initial ? command.timeoutMs : (command.startupTimeoutMs ?? command.timeoutMs);
  const overdue = machine.deadline !== null && Date.parse(at) > Date.parse(machine.deadline);
  const fail = (failure: ProvisionerReason): ClusterEvent[] =>
    initial
      ? [
          { type: 'MachineFailed', ...base, reason: failure },
          { type: 'ClusterFailed', clusterId, model: state.model, reasons: [failure], at },
        ]
      : settle(state, [{ type: 'MachineFailed', ...base, reason: failure }], at);
  const timedOut = () => fail(reason('machine-timeout', `machine ${machine.name} did not come up within ${Math.round(timeoutMs / 1000)} s (phase ${machine.phase})`));

  const events: ClusterEvent[] = [];
  switch (observation.kind) {
    case 'infrastructure-pending':
      if (machine.phase === 'Pending') events.push(started(base, observation, timeoutMs));
      else if (overdue) return timedOut();
      break;
    case 'infrastructure-ready':
      if (machine.phase === 'Pending') events.push(started(base, observation, timeoutMs));
      if (machine.phase === 'Pending' || machine.phase === 'Provisioning') {
        events.push({ type: 'MachineProvisioned', ...base, providerId: observation.providerId, addresses: observation.addresses });
      }
      break;
    case 'node-joining':
      if (machine.phase === 'Provisioned' && overdue) return timedOut();
      break;
    case 'node-joined':
      // A node can only join a machine whose infrastructure is up.
      if (machine.phase === 'Provisioned') events.push({ type: 'MachineRunning', ...base, kubeletVersion: observation.kubeletVersion });
      break;
    case 'failed':
      return fail(reason(observation.code, `machine ${machine.name} (${machine.role}${machine.pool ? `, pool ${machine.pool}` : ''}): ${observation.message}`));
    case 'node-ready':
    case 'node-not-ready':
    case 'node-upgrading':
    case 'node-upgraded':
    case 'upgrade-failed':
    case 'machine-deleted':
      break;
  }
  if (events.length === 0) return [];
  if (initial) return [...events, ...followUps(state, events, at)];
  // A new machine of a Running cluster joined: the rest of the platform hears of its node now.
  const after = apply(state, events);
  const joined = events.flatMap((event) => (event.type === 'MachineRunning' ? [toNode(machineOf(after, event.machine))] : []));
  const announced: ClusterEvent[] = joined.length > 0 ? [{ type: 'NodesJoined', clusterId, model: state.model, nodes: joined, at }] : [];
  return settle(state, [...events, ...announced], at);
}

/** A Running machine of a Running cluster: its health, or its in-place upgrade. */
function decideRunningMachine(command: ObserveMachine, state: ClusterState, machine: MachineState): ClusterEvent[] {
  const { clusterId, observation, at } = command;
  const base = { clusterId, machine: machine.name, at };
  switch (observation.kind) {
    case 'node-ready': {
      if (machine.unhealthySince === null) return [];
      const events: ClusterEvent[] = [{ type: 'MachineHealthy', ...base }];
      if (remediationBlocked(state) && command.health) {
        const after = apply(state, events);
        if (unhealthyCount(after) <= allowedUnhealthy(after, command.health.maxUnhealthy)) events.push({ type: 'RemediationAllowed', clusterId, at });
      }
      return events;
    }
    case 'node-not-ready': {
      if (machine.unhealthySince === null) return [{ type: 'MachineUnhealthy', ...base, message: observation.message }];
      const policy = command.health;
      if (!policy || Date.parse(at) - Date.parse(machine.unhealthySince) < policy.unhealthyTimeoutMs) return [];
      if (beingReplaced(state, machine.name) || state.operation !== null) return [];
      const unhealthy = unhealthyCount(state);
      const allowed = allowedUnhealthy(state, policy.maxUnhealthy);
      if (unhealthy > allowed) {
        return remediationBlocked(state) ? [] : [{ type: 'RemediationBlocked', clusterId, unhealthy, total: healthCheckTargets(state).length, allowed, at }];
      }
      const events: ClusterEvent[] = remediationBlocked(state) ? [{ type: 'RemediationAllowed', clusterId, at }] : [];
      events.push({ type: 'MachinesAdded', clusterId, machines: [replacementFor(state, machine, 'unhealthy', machine.kubernetesVersion)], at });
      return events;
    }
    case 'node-upgraded':
      if (!machine.upgrade) return [];
      return settle(state, [{ type: 'MachineUpgraded', ...base, kubernetesVersion: machine.upgrade.toVersion, kubeletVersion: observation.kubeletVersion }], at);
    case 'upgrade-failed': {
      if (!machine.upgrade || state.operation?.kind !== 'upgrade') return [];
      const failure = reason('machine-failed', `node ${machine.name} did not upgrade to ${machine.upgrade.toVersion}: ${observation.message}`);
      return [{ type: 'UpgradeFailed', ...upgradeFacts(state, state.operation, at), reasons: [failure] }];
    }
    case 'failed':
      // The machine is gone at the provider: replace it like an unhealthy one, right away.
      if (machine.unhealthySince === null) return [{ type: 'MachineUnhealthy', ...base, message: observation.message }];
      return [];
    case 'node-upgrading':
    case 'infrastructure-pending':
    case 'infrastructure-ready':
    case 'node-joining':
    case 'node-joined':
    case 'machine-deleted':
      return [];
  }
}

function decideScale(command: ScaleNodePool, state: ClusterState): ClusterEvent[] {
  const { clusterId, pool, count, at } = command;
  refuseUnlessRunning(state, 'node pools can be scaled');
  if (!state.spec.nodePools.some((candidate) => candidate.name === pool)) {
    throw new ProvisionerError('node-pool-unknown', `cluster "${clusterId}" has no node pool "${pool}" (pools: ${state.spec.nodePools.map((p) => p.name).join(', ') || 'none'})`, 'pool');
  }
  const operation = state.operation;
  // The same request again while it runs (a redelivery): nothing more to do.
  if (operation?.kind === 'scale' && operation.pool === pool && operation.to === count) return [];
  refuseIfBusy(state);
  const members = poolMachines(state, pool);
  const from = members.length;
  if (count === from) return [];
  const hosts = command.hosts ?? [];
  const events: ClusterEvent[] = [{ type: 'NodePoolScalingStarted', clusterId, pool, from, to: count, at }];
  if (machineSource(state.spec) === 'platform') {
    if (hosts.length > 0) throw new ProvisionerError('scale-hosts-not-allowed', `node pool "${pool}" runs on machines the platform provisions: leave \`hosts\` out`, 'hosts');
  } else {
    const wanted = Math.max(0, count - from);
    if (hosts.length !== wanted) {
      throw new ProvisionerError(
        'scale-hosts-mismatch',
        count > from
          ? `node pool "${pool}" runs on machines users bring: count ${count} needs ${wanted} new host(s) in \`hosts\` (the pool has ${from}), got ${hosts.length}`
          : `node pool "${pool}" shrinks from ${from} to count ${count}: its newest hosts are removed, so \`hosts\` must be empty, got ${hosts.length}`,
        'count',
      );
    }
    const taken = new Set(state.machines.flatMap((machine) => (machine.host ? [hostKey(machine.host)] : [])));
    hosts.forEach((host, index) => {
      if (host.role === 'control-plane') throw new ProvisionerError('scale-hosts-mismatch', `host ${host.address} has the control-plane role: node pools take workers`, `hosts.${index}.role`);
      if (host.pool !== undefined && host.pool !== pool) throw new ProvisionerError('scale-hosts-mismatch', `host ${host.address} names node pool "${host.pool}", not "${pool}"`, `hosts.${index}.pool`);
      if (taken.has(hostKey(host))) throw new ProvisionerError('host-duplicate', `host ${host.address}:${host.port} is already a machine of cluster "${clusterId}"`, `hosts.${index}.address`);
      taken.add(hostKey(host));
    });
  }
  if (count > from) {
    const added: NewMachine[] = [];
    for (let index = 0; index < count - from; index++) {
      const host = hosts[index];
      const name = nextMachineName(state, pool, added);
      const template = state.spec.nodePools.find((candidate) => candidate.name === pool)!;
      added.push({
        name,
        role: 'worker',
        pool,
        machineSize: host ? null : template.machineSize,
        host: host ? { address: host.address, port: host.port, user: host.user, sshKeyRef: host.sshKeyRef } : null,
        kubernetesVersion: state.kubernetesVersion,
        replaces: null,
      });
    }
    events.push({ type: 'MachinesAdded', clusterId, machines: added, at });
  } else {
    // The newest machines go first.
    for (const machine of members.slice(count).reverse()) events.push({ type: 'MachineRemovalStarted', clusterId, machine: machine.name, removal: { reason: 'scale-down' }, at });
  }
  return events;
}

function decideDeletion(command: RequestDeletion, state: ClusterState): ClusterEvent[] {
  const { clusterId, at } = command;
  if (state.phase === 'Deleting' || state.phase === 'Deleted') return [];
  const events: ClusterEvent[] = [{ type: 'ClusterDeletionStarted', clusterId, reason: command.reason ?? null, at }];
  for (const machine of state.machines) {
    if (machine.phase !== 'Deleting') events.push({ type: 'MachineRemovalStarted', clusterId, machine: machine.name, removal: { reason: 'cluster-deleted' }, at });
  }
  return settle(state, events, at);
}

function decideUpgrade(command: ApproveUpgradeStep, state: ClusterState): ClusterEvent[] {
  const { clusterId, planId, toVersion, at } = command;
  const operation = state.operation;
  // Redelivered, or the step is already done: nothing more to do.
  if (operation?.kind === 'upgrade' && operation.planId === planId && sameVersion(operation.toVersion, toVersion)) return [];
  if (sameVersion(state.kubernetesVersion, toVersion)) return [];
  const policyRevision = (command.matrix ?? defaultSupportMatrix).revision;
  const facts: UpgradeFacts = { clusterId, model: state.model, planId, fromVersion: apiServerVersion(state), toVersion, policyRevision, at };
  const reasons = upgradeRefusals(state, command);
  if (reasons.length > 0) return [{ type: 'UpgradeStepRejected', ...facts, reasons }];
  return settle(state, [{ type: 'UpgradeStarted', ...facts }], at);
}

/** Why this step cannot be taken now, under the version-skew rules and the platform release. */
function upgradeRefusals(state: ClusterState, command: ApproveUpgradeStep): ProvisionerReason[] {
  if (state.phase !== 'Running') return [reason('cluster-not-running', `cluster "${state.id}" is ${state.phase}: only a Running cluster is upgraded`)];
  const busy = busyWith(state);
  if (busy) return [reason('cluster-busy', `cluster "${state.id}" is busy: ${busy}; approve the step again when it is done`)];
  const reasons: ProvisionerReason[] = [];
  const step = checkControlPlaneStep(state.kubernetesVersion, command.toVersion);
  if (!step.allowed) reasons.push(reason(policyReason(step.code), step.reason, 'toVersion'));
  const compatible = isCompatible(command.toVersion, command.release, command.matrix ?? defaultSupportMatrix);
  if (!compatible.allowed) reasons.push(reason(policyReason(compatible.code), compatible.reason, 'toVersion'));
  if (step.allowed) {
    // Control plane first: every kubelet must still be within skew of the new API server.
    for (const machine of state.machines) {
      if (machine.kubeletVersion === null) continue;
      const skew = checkKubeletSkew(command.toVersion, machine.kubeletVersion);
      if (!skew.allowed) reasons.push(reason(policyReason(skew.code), `node ${machine.name}: ${skew.reason}`, 'toVersion'));
    }
  }
  return reasons;
}

function policyReason(code: string): ReasonCode {
  switch (code) {
    case 'version-invalid':
    case 'version-prerelease':
    case 'release-unknown':
    case 'major-version-mismatch':
    case 'control-plane-skips-minor':
    case 'control-plane-downgrade':
    case 'incompatible':
    case 'kubelet-too-old':
    case 'kubelet-newer-than-api-server':
      return code;
    default:
      return 'version-invalid';
  }
}

function refuseUnlessRunning(state: ClusterState, what: string): void {
  if (state.phase === 'Deleting' || state.phase === 'Deleted') throw new ProvisionerError('cluster-deleting', `cluster "${state.id}" is ${state.phase}`);
  if (state.phase !== 'Running') throw new ProvisionerError('cluster-not-running', `cluster "${state.id}" is ${state.phase}: ${what} once it is Running`);
}

function refuseIfBusy(state: ClusterState): void {
  const busy = busyWith(state);
  if (busy) throw new ProvisionerError('cluster-busy', `cluster "${state.id}" is busy: ${busy}; ask again when it is done`);
}

/** What the cluster is in the middle of, if anything: one change at a time. */
export function busyWith(state: ClusterState): string | undefined {
  const operation = state.operation;
  if (operation) {
    switch (operation.kind) {
      case 'scale':
        return `node pool ${operation.pool} is scaling from ${operation.from} to ${operation.to}`;
      case 'upgrade':
        return `upgrading to ${operation.toVersion} (plan ${operation.planId})`;
      case 'delete':
        return 'being deleted';
    }
  }
  const moving = state.machines.filter((machine) => machine.phase !== 'Running' && machine.phase !== 'Failed');
  if (moving.length > 0) return `machine(s) ${moving.map((machine) => `${machine.name} (${machine.phase})`).join(', ')} in progress`;
  return undefined;
}

function started(base: { clusterId: string; machine: string; at: string }, observation: { providerId: string; addresses: string[] }, timeoutMs: number): ClusterEvent {
  return { type: 'MachineProvisioningStarted', ...base, providerId: observation.providerId, addresses: observation.addresses, deadline: new Date(Date.parse(base.at) + timeoutMs).toISOString() };
}

/** The cluster moves when its machines do: infrastructure ready, then Running. */
function followUps(state: ClusterState, events: ClusterEvent[], at: string): ClusterEvent[] {
  if (events.length === 0) return [];
  const after = apply(state, events);
  const extra: ClusterEvent[] = [];
  const infrastructureUp = after.machines.every((machine) => machine.phase === 'Provisioned' || machine.phase === 'Running');
  if (infrastructureUp && (state.phase === 'Pending' || state.phase === 'Provisioning')) extra.push({ type: 'ClusterInfrastructureReady', clusterId: state.id, at });
  if (after.machines.every((machine) => machine.phase === 'Running')) {
    extra.push({
      type: 'ClusterRunning',
      clusterId: state.id,
      model: state.model,
      kubernetesVersion: apiServerVersion(after),
      nodes: after.machines.map(toNode),
      release: state.release,
      ...(state.policyRevision === null ? {} : { policyRevision: state.policyRevision }),
      at,
    });
  }
  return extra;
}

/**
 * The events plus whatever they set in motion, until nothing more follows: a replacement that
 * runs releases the machine it replaces, a released machine ends a scale, an upgrade takes its
 * next machine, the last machine of a deleted cluster completes the deletion.
 */
function settle(state: ClusterState, events: ClusterEvent[], at: string): ClusterEvent[] {
  const all = [...events];
  let current = apply(state, events);
  // Each step changes what the next one sees; the bound only guards against a bug looping.
  for (let round = 0; round < 1000; round++) {
    const next = progress(current, at);
    if (next.length === 0) return all;
    all.push(...next);
    current = apply(current, next);
  }
  throw new Error(`cluster "${state.id}": lifecycle did not settle`);
}

function progress(state: ClusterState, at: string): ClusterEvent[] {
  const clusterId = state.id;
  if (state.phase === 'Deleting') return state.machines.length === 0 ? [{ type: 'ClusterDeleted', clusterId, model: state.model, at }] : [];
  if (state.phase !== 'Running') return [];

  // A replacement that runs takes its machine's place: the old one is drained and released.
  for (const machine of state.machines) {
    if (machine.replaces === null || machine.phase !== 'Running') continue;
    const old = state.machines.find((candidate) => candidate.name === machine.replaces?.machine);
    if (old && old.phase !== 'Deleting') {
      return [{ type: 'MachineRemovalStarted', clusterId, machine: old.name, removal: { reason: 'replaced', replacedBy: machine.name, replaceReason: machine.replaces.reason }, at }];
    }
  }
  // A machine that failed once the cluster runs is released; an upgrade that needed it stops.
  const failed = state.machines.find((machine) => machine.phase === 'Failed');
  if (failed) {
    const events: ClusterEvent[] = [{ type: 'MachineRemovalStarted', clusterId, machine: failed.name, removal: { reason: 'failed' }, at }];
    if (state.operation?.kind === 'upgrade' && failed.replaces?.reason === 'upgrade') {
      events.push({ type: 'UpgradeFailed', ...upgradeFacts(state, state.operation, at), reasons: [failed.failureReason as ProvisionerReason] });
    }
    return events;
  }

  const operation = state.operation;
  if (operation?.kind === 'scale') {
    const members = state.machines.filter((machine) => machine.role === 'worker' && machine.pool === operation.pool);
    if (members.some((machine) => machine.phase !== 'Running')) return [];
    return [{ type: 'NodePoolScaled', clusterId, model: state.model, pool: operation.pool, from: operation.from, to: members.length, requested: operation.to, nodes: members.map(toNode), removed: operation.removed, at }];
  }
  if (operation?.kind === 'upgrade') return upgradeProgress(state, operation, at);
  return [];
}

/** One machine at a time: control plane first, then the workers pool by pool. */
function upgradeProgress(state: ClusterState, operation: Extract<ClusterOperation, { kind: 'upgrade' }>, at: string): ClusterEvent[] {
  const inFlight = state.machines.some((machine) => machine.upgrade !== null || machine.replaces?.reason === 'upgrade' || machine.removal?.replaceReason === 'upgrade' || machine.phase !== 'Running');
  if (inFlight) return [];
  const next = upgradeOrder(state).find((machine) => !sameVersion(machine.kubernetesVersion, operation.toVersion));
  if (!next) {
    const after = { ...state, kubernetesVersion: operation.toVersion };
    return [{ type: 'ClusterUpgraded', ...upgradeFacts(state, operation, at), toVersion: apiServerVersion(after) }];
  }
  if (next.host !== null) {
    const first = next.role === 'control-plane' && !state.machines.some((machine) => machine.role === 'control-plane' && sameVersion(machine.kubernetesVersion, operation.toVersion));
    return [{ type: 'MachineUpgradeStarted', clusterId: state.id, machine: next.name, toVersion: operation.toVersion, first, at }];
  }
  return [{ type: 'MachinesAdded', clusterId: state.id, machines: [replacementFor(state, next, 'upgrade', operation.toVersion)], at }];
}

export function upgradeOrder(state: ClusterState): MachineState[] {
  const poolIndex = (machine: MachineState) => (machine.role === 'control-plane' ? -1 : state.spec.nodePools.findIndex((pool) => pool.name === machine.pool));
  return state.machines
    .map((machine, ordinal) => ({ machine, ordinal }))
    .sort((a, b) => poolIndex(a.machine) - poolIndex(b.machine) || a.ordinal - b.ordinal)
    .map(({ machine }) => machine);
}

function upgradeFacts(state: ClusterState, operation: Extract<ClusterOperation, { kind: 'upgrade' }>, at: string): UpgradeFacts {
  return {
    clusterId: state.id,
    model: state.model,
    planId: operation.planId,
    fromVersion: operation.fromVersion,
    toVersion: operation.toVersion,
    ...(operation.policyRevision === undefined ? {} : { policyRevision: operation.policyRevision }),
    at,
  };
}

/** A machine is gone at the provider: its row goes, and a replaced one is announced as such. */
function deleted(state: ClusterState, machine: MachineState, at: string): ClusterEvent[] {
  const events: ClusterEvent[] = [{ type: 'MachineDeleted', clusterId: state.id, machine: machine.name, at }];
  const removal = machine.removal;
  if (removal?.reason === 'replaced' && removal.replacedBy && removal.replaceReason) {
    const successor = state.machines.find((candidate) => candidate.name === removal.replacedBy);
    if (successor) {
      events.push({
        type: 'MachineReplaced',
        clusterId: state.id,
        model: state.model,
        role: machine.role,
        pool: machine.pool,
        reason: removal.replaceReason,
        oldMachine: { name: machine.name, providerId: machine.providerId, kubeletVersion: machine.kubeletVersion },
        newMachine: { name: successor.name, providerId: successor.providerId, kubeletVersion: successor.kubeletVersion },
        at,
      });
    }
  }
  return events;
}

function replacementFor(state: ClusterState, machine: MachineState, why: ReplaceReason, kubernetesVersion: string): NewMachine {
  return {
    name: nextMachineName(state, machine.role === 'control-plane' ? null : machine.pool, []),
    role: machine.role,
    pool: machine.pool,
    machineSize: machine.machineSize,
    host: null,
    kubernetesVersion,
    replaces: { machine: machine.name, reason: why },
  };
}

/** `<cluster>-<group>-<n>` with n one above the highest in use, so a name is never taken twice at once. */
function nextMachineName(state: ClusterState, pool: string | null, pending: readonly { name: string }[]): string {
  const group = pool ?? 'cp';
  const prefix = `${state.id}-${group}-`;
  const taken = new Set([...state.machines, ...pending].map((machine) => machine.name));
  let highest = -1;
  for (const name of taken) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^\d+$/.test(rest)) highest = Math.max(highest, Number(rest));
  }
  return `${prefix}${highest + 1}`;
}

function poolMachines(state: ClusterState, pool: string): MachineState[] {
  return state.machines.filter((machine) => machine.role === 'worker' && machine.pool === pool && machine.phase !== 'Deleting');
}

function hostKey(host: { address: string; port: number }): string {
  return `${host.address.toLowerCase()}:${host.port}`;
}

function beingReplaced(state: ClusterState, name: string): boolean {
  return state.machines.some((machine) => machine.replaces?.machine === name && machine.phase !== 'Failed' && machine.phase !== 'Deleting');
}

/** Machines the health check looks at: those that are nodes and not on their way out. */
function healthCheckTargets(state: ClusterState): MachineState[] {
  return state.machines.filter((machine) => machine.phase === 'Running');
}

function unhealthyCount(state: ClusterState): number {
  return healthCheckTargets(state).filter((machine) => machine.unhealthySince !== null).length;
}

/** Cluster API's maxUnhealthy: a count, or a share of the machines rounded down. */
export function allowedUnhealthy(state: ClusterState, max: MaxUnhealthy): number {
  switch (max.kind) {
    case 'count':
      return max.value;
    case 'percent':
      return Math.floor((healthCheckTargets(state).length * max.value) / 100);
  }
}

function remediationBlocked(state: ClusterState): boolean {
  return state.conditions.some((condition) => condition.type === 'RemediationAllowed' && condition.status === 'False');
}

function toNode(machine: MachineState): Node {
  return {
    name: machine.name,
    role: machine.role,
    ...(machine.pool === null ? {} : { pool: machine.pool }),
    ...(machine.providerId === null ? {} : { providerId: machine.providerId }),
    addresses: machine.addresses,
    ...(machine.kubeletVersion === null ? {} : { kubeletVersion: machine.kubeletVersion }),
    ...(machine.machineSize === null ? {} : { machineSize: machine.machineSize }),
  };
}

/** What the API server runs: the control plane's kubelets, or the cluster's version when it is hosted. */
function apiServerVersion(state: ClusterState): string {
  const controlPlane = state.machines.find((machine) => machine.role === 'control-plane' && machine.kubeletVersion !== null && machine.phase === 'Running' && sameVersion(machine.kubernetesVersion, state.kubernetesVersion));
  const version = controlPlane?.kubeletVersion ?? state.kubernetesVersion;
  return version.startsWith('v') ? version : `v${version}`;
}

/** 1.34 and v1.34.0 are the same version; 1.34.2 is not 1.34. */
export function sameVersion(a: string, b: string): boolean {
  const left = parseKubernetesVersion(a);
  const right = parseKubernetesVersion(b);
  if (!left.ok || !right.ok) return a === b;
  return left.version.major === right.version.major && left.version.minor === right.version.minor && (left.version.patch ?? 0) === (right.version.patch ?? 0);
}

export function isProvisioning(phase: ClusterPhase): boolean {
  return phase === 'Pending' || phase === 'Provisioning' || phase === 'Provisioned';
}

/** What the reconciler has to do with a machine now. */
export type MachineWork = 'none' | 'provision' | 'health-check' | 'upgrade' | 'remove';

export function machineWork(cluster: Pick<ClusterState, 'phase'>, machine: Pick<MachineState, 'phase' | 'upgrade'>): MachineWork {
  if (machine.phase === 'Deleting') return 'remove';
  switch (cluster.phase) {
    case 'Pending':
    case 'Provisioning':
    case 'Provisioned':
      return machine.phase === 'Pending' || machine.phase === 'Provisioning' || machine.phase === 'Provisioned' ? 'provision' : 'none';
    case 'Running':
      switch (machine.phase) {
        case 'Pending':
        case 'Provisioning':
        case 'Provisioned':
          return 'provision';
        case 'Running':
          return machine.upgrade ? 'upgrade' : 'health-check';
        case 'Failed':
          return 'none';
      }
    // falls through: never reached, every machine phase returns above
    case 'Failed':
    case 'Deleting':
    case 'Deleted':
      return 'none';
  }
}

/** Whether the reconciler still has work on this machine. */
export function needsReconcile(cluster: Pick<ClusterState, 'phase'>, machine: Pick<MachineState, 'phase' | 'upgrade'>): boolean {
  return machineWork(cluster, machine) !== 'none';
}

function apply(state: ClusterState, events: readonly ClusterEvent[]): ClusterState {
  return events.reduce<ClusterState>((current, event) => evolve(current, event), state);
}

function machineOf(state: ClusterState, name: string): MachineState {
  const machine = state.machines.find((candidate) => candidate.name === name);
  if (!machine) throw new ProvisionerError('machine-not-found', `cluster "${state.id}" has no machine "${name}"`);
  return machine;
}

// ---- evolve ------------------------------------------------------------------------------------

export function evolve(state: ClusterState | undefined, event: ClusterEvent): ClusterState {
  switch (event.type) {
    case 'ClusterAccepted':
      return summarise(
        {
          id: event.clusterId,
          name: event.spec.name,
          model: event.spec.model,
          spec: event.spec,
          release: event.release,
          policyRevision: event.policyRevision ?? null,
          kubernetesVersion: event.spec.kubernetesVersion,
          phase: 'Pending',
          conditions: setConditions([], [{ type: 'SpecValid', status: 'True', reason: 'Valid' }], event.at),
          failureReasons: [],
          machines: event.machines.map((planned) => newMachine({ ...planned, kubernetesVersion: event.spec.kubernetesVersion, replaces: null }, event.at)),
          operation: null,
          requestedAt: event.at,
        },
        event.at,
      );
    case 'ClusterRejected':
      return {
        id: event.clusterId,
        name: event.spec.name,
        model: event.spec.model,
        spec: event.spec,
        release: event.release,
        policyRevision: event.policyRevision ?? null,
        kubernetesVersion: event.spec.kubernetesVersion,
        phase: 'Failed',
        conditions: setConditions(
          [],
          [
            event.reasons.every((item) => isPlacementCode(item.code))
              ? { type: 'SpecValid', status: 'True', reason: 'Valid' }
              : { type: 'SpecValid', status: 'False', reason: 'InvalidSpec', message: event.reasons.map((item) => item.message).join('; ') },
            { type: 'Ready', status: 'False', reason: event.reasons.every((item) => isPlacementCode(item.code)) ? 'NoControlPlanePlacement' : 'InvalidSpec', message: event.reasons.map((item) => item.message).join('; ') },
          ],
          event.at,
        ),
        failureReasons: event.reasons,
        machines: [],
        operation: null,
        requestedAt: event.at,
      };
    case 'MachineProvisioningStarted': {
      const current = existing(state, event);
      return summarise(
        {
          ...updateMachine(current, event.machine, (machine) => ({
            ...machine,
            phase: 'Provisioning',
            providerId: event.providerId,
            addresses: event.addresses,
            deadline: event.deadline,
            conditions: setConditions(machine.conditions, [{ type: 'InfrastructureReady', status: 'False', reason: 'Provisioning', message: `provider id ${event.providerId}` }], event.at),
          })),
          phase: current.phase === 'Pending' ? 'Provisioning' : current.phase,
        },
        event.at,
      );
    }
    case 'MachineProvisioned':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Provisioned',
          providerId: event.providerId,
          addresses: event.addresses,
          conditions: setConditions(
            machine.conditions,
            [
              { type: 'InfrastructureReady', status: 'True', reason: 'Provisioned' },
              { type: 'NodeReady', status: 'False', reason: 'WaitingForNodeJoin' },
            ],
            event.at,
          ),
        })),
        event.at,
      );
    case 'MachineRunning':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Running',
          kubeletVersion: event.kubeletVersion,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'True', reason: 'NodeJoined', message: `kubelet ${event.kubeletVersion}` }], event.at),
        })),
        event.at,
      );
    case 'MachineFailed':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Failed',
          failureReason: event.reason,
          conditions: setConditions(
            machine.conditions,
            [machine.phase === 'Provisioned' ? { type: 'NodeReady', status: 'False', reason: failureCondition(event.reason), message: event.reason.message } : { type: 'InfrastructureReady', status: 'False', reason: failureCondition(event.reason), message: event.reason.message }],
            event.at,
          ),
        })),
        event.at,
      );
    case 'ClusterInfrastructureReady':
      return summarise({ ...existing(state, event), phase: 'Provisioned' }, event.at);
    case 'ClusterRunning':
      return summarise({ ...existing(state, event), phase: 'Running' }, event.at);
    case 'ClusterFailed': {
      const current = existing(state, event);
      return summarise({ ...current, phase: 'Failed', failureReasons: [...current.failureReasons, ...event.reasons] }, event.at);
    }
    case 'NodesJoined':
    case 'MachineReplaced':
      // Announcements: the state changed with the events next to them.
      return existing(state, event);
    case 'MachinesAdded': {
      const current = existing(state, event);
      return summarise({ ...current, machines: [...current.machines, ...event.machines.map((machine) => newMachine(machine, event.at))] }, event.at);
    }
    case 'MachineRemovalStarted':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Deleting',
          removal: event.removal,
          upgrade: null,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'False', reason: 'Deleting', message: describeRemoval(event.removal) }], event.at),
        })),
        event.at,
      );
    case 'MachineDeleted': {
      const current = existing(state, event);
      machineOf(current, event.machine);
      return summarise(
        {
          ...current,
          machines: current.machines.filter((machine) => machine.name !== event.machine).map((machine) => (machine.replaces?.machine === event.machine ? { ...machine, replaces: null } : machine)),
          operation: current.operation?.kind === 'scale' && current.machines.some((machine) => machine.name === event.machine && machine.removal?.reason === 'scale-down') ? { ...current.operation, removed: [...current.operation.removed, event.machine] } : current.operation,
        },
        event.at,
      );
    }
    case 'MachineUnhealthy':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          unhealthySince: event.at,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'False', reason: 'NodeNotReady', message: event.message }], event.at),
        })),
        event.at,
      );
    case 'MachineHealthy':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          unhealthySince: null,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'True', reason: 'NodeReady' }], event.at),
        })),
        event.at,
      );
    case 'RemediationBlocked': {
      const current = existing(state, event);
      const message = `${event.unhealthy} of ${event.total} machine(s) are unhealthy, more than the ${event.allowed} allowed: no machine is replaced until enough recover`;
      return { ...current, conditions: setConditions(current.conditions, [{ type: 'RemediationAllowed', status: 'False', reason: 'TooManyUnhealthy', message }], event.at) };
    }
    case 'RemediationAllowed': {
      const current = existing(state, event);
      return { ...current, conditions: setConditions(current.conditions, [{ type: 'RemediationAllowed', status: 'True', reason: 'WithinMaxUnhealthy' }], event.at) };
    }
    case 'NodePoolScalingStarted':
      return summarise({ ...existing(state, event), operation: { kind: 'scale', pool: event.pool, from: event.from, to: event.to, removed: [], startedAt: event.at } }, event.at);
    case 'NodePoolScaled': {
      const current = existing(state, event);
      const condition: ConditionUpdate =
        event.to === event.requested
          ? { type: 'Scaling', status: 'False', reason: 'Scaled', message: `node pool ${event.pool}: ${event.from} -> ${event.to}` }
          : { type: 'Scaling', status: 'False', reason: 'MachineFailed', message: `node pool ${event.pool}: ${event.from} -> ${event.to} of ${event.requested} asked: a new machine failed` };
      return summarise({ ...current, operation: null, conditions: setConditions(current.conditions, [condition], event.at) }, event.at);
    }
    case 'UpgradeStarted':
      return summarise(
        {
          ...existing(state, event),
          operation: { kind: 'upgrade', planId: event.planId, fromVersion: event.fromVersion, toVersion: event.toVersion, startedAt: event.at, ...(event.policyRevision === undefined ? {} : { policyRevision: event.policyRevision }) },
        },
        event.at,
      );
    case 'UpgradeStepRejected': {
      const current = existing(state, event);
      const message = `step to ${event.toVersion} (plan ${event.planId}) refused: ${event.reasons.map((item) => item.message).join('; ')}`;
      return { ...current, conditions: setConditions(current.conditions, [{ type: 'Upgrading', status: 'False', reason: 'StepRejected', message }], event.at) };
    }
    case 'MachineUpgradeStarted':
      return summarise(updateMachine(existing(state, event), event.machine, (machine) => ({ ...machine, upgrade: { toVersion: event.toVersion, first: event.first } })), event.at);
    case 'MachineUpgraded':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          upgrade: null,
          kubernetesVersion: event.kubernetesVersion,
          kubeletVersion: event.kubeletVersion,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'True', reason: 'NodeUpgraded', message: `kubelet ${event.kubeletVersion}` }], event.at),
        })),
        event.at,
      );
    case 'ClusterUpgraded': {
      const current = existing(state, event);
      const operation = current.operation?.kind === 'upgrade' ? current.operation : undefined;
      return summarise(
        {
          ...current,
          kubernetesVersion: operation?.toVersion ?? event.toVersion,
          operation: null,
          conditions: setConditions(current.conditions, [{ type: 'Upgrading', status: 'False', reason: 'Upgraded', message: `${event.fromVersion} -> ${event.toVersion} (plan ${event.planId})` }], event.at),
        },
        event.at,
      );
    }
    case 'UpgradeFailed': {
      const current = existing(state, event);
      const message = `step to ${event.toVersion} (plan ${event.planId}) stopped: ${event.reasons.map((item) => item.message).join('; ')}`;
      return summarise(
        {
          ...current,
          operation: null,
          machines: current.machines.map((machine) => (machine.upgrade ? { ...machine, upgrade: null } : machine)),
          conditions: setConditions(current.conditions, [{ type: 'Upgrading', status: 'False', reason: 'UpgradeFailed', message }], event.at),
        },
        event.at,
      );
    }
    case 'ClusterDeletionStarted':
      return summarise({ ...existing(state, event), phase: 'Deleting', operation: { kind: 'delete', reason: event.reason, startedAt: event.at } }, event.at);
    case 'ClusterDeleted':
      return summarise({ ...existing(state, event), phase: 'Deleted', operation: null }, event.at);
  }
}

function isPlacementCode(code: string): boolean {
  return code === 'no-management-cluster' || code === 'management-capacity-exhausted';
}

function describeRemoval(removal: MachineRemoval): string {
  switch (removal.reason) {
    case 'scale-down':
      return 'node pool scaled down';
    case 'replaced':
      return `replaced by ${removal.replacedBy ?? 'a new machine'} (${removal.replaceReason ?? 'replaced'})`;
    case 'failed':
      return 'failed; released';
    case 'cluster-deleted':
      return 'cluster deleted';
  }
}

function existing(state: ClusterState | undefined, event: ClusterEvent): ClusterState {
  if (!state) throw new ProvisionerError('cluster-not-found', `${event.type} for unknown cluster "${event.clusterId}"`);
  return state;
}

function newMachine(planned: NewMachine, at: string): MachineState {
  return {
    name: planned.name,
    role: planned.role,
    pool: planned.pool,
    machineSize: planned.machineSize,
    host: planned.host,
    phase: 'Pending',
    providerId: null,
    addresses: [],
    kubernetesVersion: planned.kubernetesVersion,
    kubeletVersion: null,
    failureReason: null,
    deadline: null,
    conditions: setConditions(
      [],
      [
        { type: 'InfrastructureReady', status: 'False', reason: 'WaitingForInfrastructure' },
        { type: 'NodeReady', status: 'False', reason: 'WaitingForInfrastructure' },
      ],
      at,
    ),
    replaces: planned.replaces,
    removal: null,
    unhealthySince: null,
    upgrade: null,
  };
}

function updateMachine(state: ClusterState, name: string, change: (machine: MachineState) => MachineState): ClusterState {
  if (!state.machines.some((machine) => machine.name === name)) throw new ProvisionerError('machine-not-found', `cluster "${state.id}" has no machine "${name}"`);
  return { ...state, machines: state.machines.map((machine) => (machine.name === name ? change(machine) : machine)) };
}

function failureCondition(failure: Reason): string {
  switch (failure.code) {
    case 'machine-timeout':
      return 'Timeout';
    case 'provider-error':
      return 'ProviderError';
    default:
      return 'MachineFailed';
  }
}

/** The cluster's conditions, derived from its machines, phase and operation so they never disagree. */
function summarise(state: ClusterState, at: string): ClusterState {
  const updates: ConditionUpdate[] = [];
  const count = (machines: MachineState[], phases: MachinePhase[]) => machines.filter((machine) => phases.includes(machine.phase)).length;
  // Machines on their way out no longer count.
  const all = state.machines.filter((machine) => machine.phase !== 'Deleting');
  const failed = all.filter((machine) => machine.phase === 'Failed');
  const infrastructureUp = count(all, ['Provisioned', 'Running']);
  updates.push(
    failed.length > 0
      ? { type: 'InfrastructureReady', status: 'False', reason: 'MachineFailed', message: `${failed.length} machine(s) failed: ${failed.map((machine) => machine.name).join(', ')}` }
      : infrastructureUp === all.length
        ? { type: 'InfrastructureReady', status: 'True', reason: 'AllMachinesProvisioned', message: `${all.length} machine(s)` }
        : { type: 'InfrastructureReady', status: 'False', reason: 'WaitingForMachines', message: `${infrastructureUp} of ${all.length} machine(s) provisioned` },
  );
  const controlPlane = all.filter((machine) => machine.role === 'control-plane');
  if (controlPlaneIsHosted(state.spec)) {
    updates.push({ type: 'ControlPlaneReady', status: 'True', reason: 'Hosted', message: `${state.spec.controlPlane.count} replica(s) in the management cluster` });
  } else {
    const running = count(controlPlane, ['Running']);
    updates.push(
      running === controlPlane.length
        ? { type: 'ControlPlaneReady', status: 'True', reason: 'ControlPlaneRunning', message: `${running} control-plane node(s)` }
        : { type: 'ControlPlaneReady', status: 'False', reason: 'WaitingForControlPlane', message: `${running} of ${controlPlane.length} control-plane node(s) running` },
    );
  }
  const workers = all.filter((machine) => machine.role === 'worker');
  const workersRunning = count(workers, ['Running']);
  updates.push(
    workersRunning === workers.length
      ? { type: 'WorkersReady', status: 'True', reason: 'WorkersRunning', message: `${workersRunning} worker node(s)` }
      : { type: 'WorkersReady', status: 'False', reason: 'WaitingForWorkers', message: `${workersRunning} of ${workers.length} worker node(s) running` },
  );
  switch (state.phase) {
    case 'Running': {
      updates.push({ type: 'Ready', status: 'True', reason: 'Running' });
      const unhealthy = all.filter((machine) => machine.phase === 'Running' && machine.unhealthySince !== null);
      updates.push(
        unhealthy.length === 0
          ? { type: 'MachinesHealthy', status: 'True', reason: 'AllNodesReady' }
          : { type: 'MachinesHealthy', status: 'False', reason: 'NodeNotReady', message: `${unhealthy.length} node(s) not Ready: ${unhealthy.map((machine) => machine.name).join(', ')}` },
      );
      break;
    }
    case 'Failed':
      updates.push({ type: 'Ready', status: 'False', reason: 'ProvisioningFailed', message: state.failureReasons.map((item) => item.message).join('; ') });
      break;
    case 'Deleting': {
      const message = `${state.machines.length} machine(s) left to release`;
      updates.push({ type: 'Ready', status: 'False', reason: 'Deleting', message });
      break;
    }
    case 'Deleted':
      updates.push({ type: 'Ready', status: 'False', reason: 'Deleted' });
      break;
    case 'Pending':
    case 'Provisioning':
    case 'Provisioned':
      updates.push({ type: 'Ready', status: 'False', reason: state.phase });
      break;
  }
  const operation = state.operation;
  if (operation?.kind === 'scale') {
    const members = all.filter((machine) => machine.role === 'worker' && machine.pool === operation.pool);
    updates.push({ type: 'Scaling', status: 'True', reason: operation.to > operation.from ? 'ScalingUp' : 'ScalingDown', message: `node pool ${operation.pool}: ${operation.from} -> ${operation.to}, ${count(members, ['Running'])} node(s) running, ${state.machines.length - all.length} being released` });
  }
  if (operation?.kind === 'upgrade') {
    const done = state.machines.filter((machine) => machine.phase === 'Running' && sameVersion(machine.kubernetesVersion, operation.toVersion)).length;
    updates.push({ type: 'Upgrading', status: 'True', reason: 'RollingMachines', message: `to ${operation.toVersion} (plan ${operation.planId}): ${done} of ${all.length} machine(s) on the new version` });
  }
  return { ...state, conditions: setConditions(state.conditions, updates, at) };
}

/** JSON with sorted keys: two specs are the same request whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
