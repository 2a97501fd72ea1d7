import type { ClusterModel, ClusterSpec, Node, Reason } from '@flotilla/contracts';
import { setConditions, type Condition, type ConditionUpdate } from './conditions.js';
import { controlPlaneIsHosted, planMachines, type HostRef, type MachineRole, type PlannedMachine } from './machine-plan.js';
import { reason, type ProvisionerReason } from './reasons.js';
import { validateClusterRequest } from './spec-validation.js';

/*
 * The cluster and machine lifecycle, in the spirit of Cluster API: a Cluster owns Machines; each
 * Machine goes Pending -> Provisioning (the provider has it) -> Provisioned (infrastructure up,
 * addresses known) -> Running (joined as a node). The cluster follows its machines and is Running
 * when every machine is. Commands come from the bus (a request) and from the reconciler (what it
 * observed at the provider); `decide` turns them into events, `evolve` folds events into state.
 * Both are pure: no clock (time comes in the command), no I/O.
 */

export const CLUSTER_PHASES = ['Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Deleted', 'Failed'] as const;
export type ClusterPhase = (typeof CLUSTER_PHASES)[number];
export const MACHINE_PHASES = ['Pending', 'Provisioning', 'Provisioned', 'Running', 'Failed'] as const;
export type MachinePhase = (typeof MACHINE_PHASES)[number];

export interface MachineState {
  name: string;
  role: MachineRole;
  pool: string | null;
  machineSize: string | null;
  host: HostRef | null;
  phase: MachinePhase;
  providerId: string | null;
  addresses: string[];
  kubeletVersion: string | null;
  failureReason: Reason | null;
  /** Provisioning must be over by then (set when it starts). */
  deadline: string | null;
  conditions: Condition[];
}

export interface ClusterState {
  id: string;
  name: string;
  model: ClusterSpec['model'];
  spec: ClusterSpec;
  /** The platform release the request was judged under. */
  release: string;
  phase: ClusterPhase;
  conditions: Condition[];
  failureReasons: Reason[];
  machines: MachineState[];
  requestedAt: string;
}

// ---- commands ----------------------------------------------------------------------------------

export interface RequestCluster {
  type: 'RequestCluster';
  clusterId: string;
  spec: ClusterSpec;
  release: string;
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
  | { kind: 'failed'; code: 'machine-failed' | 'machine-timeout' | 'provider-error'; message: string };

export interface ObserveMachine {
  type: 'ObserveMachine';
  clusterId: string;
  machine: string;
  observation: MachineObservation;
  /** How long a machine may take from the start of provisioning to Running. */
  timeoutMs: number;
  at: string;
}

export type ClusterCommand = RequestCluster | ObserveMachine;

// ---- events ------------------------------------------------------------------------------------

export type ClusterEvent =
  | { type: 'ClusterAccepted'; clusterId: string; spec: ClusterSpec; release: string; machines: PlannedMachine[]; at: string }
  | { type: 'ClusterRejected'; clusterId: string; spec: ClusterSpec; release: string; reasons: ProvisionerReason[]; at: string }
  | { type: 'MachineProvisioningStarted'; clusterId: string; machine: string; providerId: string; addresses: string[]; deadline: string; at: string }
  | { type: 'MachineProvisioned'; clusterId: string; machine: string; providerId: string; addresses: string[]; at: string }
  | { type: 'MachineRunning'; clusterId: string; machine: string; kubeletVersion: string; at: string }
  | { type: 'MachineFailed'; clusterId: string; machine: string; reason: ProvisionerReason; at: string }
  | { type: 'ClusterInfrastructureReady'; clusterId: string; at: string }
  | { type: 'ClusterRunning'; clusterId: string; model: ClusterModel; kubernetesVersion: string; nodes: Node[]; at: string }
  | { type: 'ClusterFailed'; clusterId: string; model: ClusterModel; reasons: ProvisionerReason[]; at: string };

export type ProvisionerErrorCode = 'cluster-exists' | 'cluster-not-found' | 'machine-not-found';

/** A command that contradicts the state: it can never succeed, whatever the retry. */
export class ProvisionerError extends Error {
  override readonly name = 'ProvisionerError';
  constructor(
    readonly code: ProvisionerErrorCode,
    message: string,
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
  }
}

function decideRequest(command: RequestCluster, state: ClusterState | undefined): ClusterEvent[] {
  const { clusterId, spec, release, at } = command;
  if (state) {
    // The same request again (a retry with a new event id): nothing more to do.
    if (canonicalJson(state.spec) === canonicalJson(spec)) return [];
    throw new ProvisionerError('cluster-exists', `cluster "${clusterId}" was already requested with a different spec`);
  }
  const reasons = validateClusterRequest({ clusterId, spec, release, providers: command.providers });
  if (reasons.length > 0) return [{ type: 'ClusterRejected', clusterId, spec, release, reasons, at }];
  return [{ type: 'ClusterAccepted', clusterId, spec, release, machines: planMachines(clusterId, spec), at }];
}

function decideObservation(command: ObserveMachine, state: ClusterState | undefined): ClusterEvent[] {
  const { clusterId, observation, at } = command;
  if (!state) throw new ProvisionerError('cluster-not-found', `cluster "${clusterId}" is not known here`);
  const machine = state.machines.find((candidate) => candidate.name === command.machine);
  if (!machine) throw new ProvisionerError('machine-not-found', `cluster "${clusterId}" has no machine "${command.machine}"`);
  if (machine.phase === 'Running' || machine.phase === 'Failed') return [];
  const base = { clusterId, machine: machine.name, at };

  if (!isProvisioning(state.phase)) {
    // A failed cluster still records what became of its machines, but nothing moves forward.
    return observation.kind === 'failed' ? [{ type: 'MachineFailed', ...base, reason: reason(observation.code, observation.message) }] : [];
  }

  const overdue = machine.deadline !== null && Date.parse(at) > Date.parse(machine.deadline);
  const fail = (failure: ProvisionerReason): ClusterEvent[] => [
    { type: 'MachineFailed', ...base, reason: failure },
    { type: 'ClusterFailed', clusterId, model: state.model, reasons: [failure], at },
  ];
  const timedOut = () => fail(reason('machine-timeout', `machine ${machine.name} did not come up within ${Math.round(command.timeoutMs / 1000)} s (phase ${machine.phase})`));

  const events: ClusterEvent[] = [];
  switch (observation.kind) {
    case 'infrastructure-pending':
      if (machine.phase === 'Pending') events.push(started(base, observation, command.timeoutMs));
      else if (overdue) return timedOut();
      break;
    case 'infrastructure-ready':
      if (machine.phase === 'Pending') events.push(started(base, observation, command.timeoutMs));
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
  }
  return [...events, ...followUps(state, events, at)];
}

function started(base: { clusterId: string; machine: string; at: string }, observation: { providerId: string; addresses: string[] }, timeoutMs: number): ClusterEvent {
  return { type: 'MachineProvisioningStarted', ...base, providerId: observation.providerId, addresses: observation.addresses, deadline: new Date(Date.parse(base.at) + timeoutMs).toISOString() };
}

/** The cluster moves when its machines do: infrastructure ready, then Running. */
function followUps(state: ClusterState, events: ClusterEvent[], at: string): ClusterEvent[] {
  if (events.length === 0) return [];
  const after = events.reduce<ClusterState>((current, event) => evolve(current, event), state);
  const extra: ClusterEvent[] = [];
  const infrastructureUp = after.machines.every((machine) => machine.phase === 'Provisioned' || machine.phase === 'Running');
  if (infrastructureUp && (state.phase === 'Pending' || state.phase === 'Provisioning')) extra.push({ type: 'ClusterInfrastructureReady', clusterId: state.id, at });
  if (after.machines.every((machine) => machine.phase === 'Running')) {
    extra.push({ type: 'ClusterRunning', clusterId: state.id, model: state.model, kubernetesVersion: apiServerVersion(after), nodes: after.machines.map(toNode), at });
  }
  return extra;
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

/** What the API server runs: the control plane's kubelets, or the requested version when it is hosted. */
function apiServerVersion(state: ClusterState): string {
  const controlPlane = state.machines.find((machine) => machine.role === 'control-plane' && machine.kubeletVersion !== null);
  const version = controlPlane?.kubeletVersion ?? state.spec.kubernetesVersion;
  return version.startsWith('v') ? version : `v${version}`;
}

export function isProvisioning(phase: ClusterPhase): boolean {
  return phase === 'Pending' || phase === 'Provisioning' || phase === 'Provisioned';
}

/** Whether the reconciler still has work on this machine. */
export function needsReconcile(cluster: Pick<ClusterState, 'phase'>, machine: Pick<MachineState, 'phase'>): boolean {
  return isProvisioning(cluster.phase) && (machine.phase === 'Pending' || machine.phase === 'Provisioning' || machine.phase === 'Provisioned');
}

// ---- evolve ------------------------------------------------------------------------------------

export function evolve(state: ClusterState | undefined, event: ClusterEvent): ClusterState {
  switch (event.type) {
    case 'ClusterAccepted':
      return summarise({
        id: event.clusterId,
        name: event.spec.name,
        model: event.spec.model,
        spec: event.spec,
        release: event.release,
        phase: 'Pending',
        conditions: setConditions([], [{ type: 'SpecValid', status: 'True', reason: 'Valid' }], event.at),
        failureReasons: [],
        machines: event.machines.map((planned) => newMachine(planned, event.at)),
        requestedAt: event.at,
      }, event.at);
    case 'ClusterRejected':
      return {
        id: event.clusterId,
        name: event.spec.name,
        model: event.spec.model,
        spec: event.spec,
        release: event.release,
        phase: 'Failed',
        conditions: setConditions(
          [],
          [
            { type: 'SpecValid', status: 'False', reason: 'InvalidSpec', message: event.reasons.map((item) => item.message).join('; ') },
            { type: 'Ready', status: 'False', reason: 'InvalidSpec' },
          ],
          event.at,
        ),
        failureReasons: event.reasons,
        machines: [],
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
  }
}

function existing(state: ClusterState | undefined, event: ClusterEvent): ClusterState {
  if (!state) throw new ProvisionerError('cluster-not-found', `${event.type} for unknown cluster "${event.clusterId}"`);
  return state;
}

function newMachine(planned: PlannedMachine, at: string): MachineState {
  return {
    ...planned,
    phase: 'Pending',
    providerId: null,
    addresses: [],
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

/** The cluster's conditions, derived from its machines and phase so they never disagree. */
function summarise(state: ClusterState, at: string): ClusterState {
  const updates: ConditionUpdate[] = [];
  const count = (machines: MachineState[], phases: MachinePhase[]) => machines.filter((machine) => phases.includes(machine.phase)).length;
  const failed = state.machines.filter((machine) => machine.phase === 'Failed');
  const all = state.machines;
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
    case 'Running':
      updates.push({ type: 'Ready', status: 'True', reason: 'Running' });
      break;
    case 'Failed':
      updates.push({ type: 'Ready', status: 'False', reason: 'ProvisioningFailed', message: state.failureReasons.map((item) => item.message).join('; ') });
      break;
    case 'Deleting':
    case 'Deleted':
      updates.push({ type: 'Ready', status: 'False', reason: state.phase });
      break;
    case 'Pending':
    case 'Provisioning':
    case 'Provisioned':
      updates.push({ type: 'Ready', status: 'False', reason: state.phase });
      break;
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
