import { defaultSupportMatrix } from '@flotilla/contracts';
import { controlPlaneVipEndpoint } from '../endpoint.js';
import { planMachines } from '../machine-plan.js';
import { reason, type ProvisionerReason } from '../reasons.js';
import { validateClusterRequest } from '../spec-validation.js';
import type { ObserveMachine, RequestCluster } from './commands.js';
import { ProvisionerError } from './errors.js';
import type { ClusterEvent } from './events.js';
import { apply } from './evolve.js';
import { machineOf, toNode } from './machines.js';
import { apiServerVersion, isProvisioning, type ClusterState, type MachineState } from './state.js';

/*
 * Creation: a request is accepted with its Pending machines or refused with every reason; then
 * machines come up (at the provider, then as nodes) and the cluster follows them to Running, or
 * fails with the first machine that fails or times out. Machines made once the cluster runs
 * (scale-up, replacements) come up the same way, but their failure does not fail the cluster.
 */

export function decideRequest(command: RequestCluster, state: ClusterState | undefined): ClusterEvent[] {
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
  // Users' hosts answer at their virtual IP from the start; other endpoints come with the placement or the provider.
  const vip = controlPlaneVipEndpoint(spec);
  return [{ type: 'ClusterAccepted', clusterId, spec, release, policyRevision, machines: planMachines(clusterId, spec), ...(vip === undefined ? {} : { apiServerEndpoint: vip }), at }];
}

/**
 * The provider allocated the cluster's control-plane endpoint (a load balancer or virtual IP):
 * recorded once; the same again changes nothing. An endpoint never changes under a cluster
 * whose nodes were configured with it, so a different one is refused.
 */
export function assignApiServerEndpoint(state: ClusterState, endpoint: string, at: string): ClusterEvent[] {
  if (state.apiServerEndpoint === endpoint) return [];
  if (state.apiServerEndpoint !== null) throw new ProvisionerError('endpoint-changed', `cluster "${state.id}" has API server endpoint ${state.apiServerEndpoint}; the provider now gives ${endpoint}`);
  return [{ type: 'ApiServerEndpointAssigned', clusterId: state.id, endpoint, at }];
}

/** The hosted control plane found no room: the accepted request is refused after all. */
export function refuseForPlacement(accepted: Extract<ClusterEvent, { type: 'ClusterAccepted' }>, code: 'no-management-cluster' | 'management-capacity-exhausted', message: string): ClusterEvent {
  return refuseAccepted(accepted, [reason(code, message, 'hosted')]);
}

/** Hosts another cluster holds: the request is refused, each host named with its field and owner. */
export function refuseForHosts(accepted: Extract<ClusterEvent, { type: 'ClusterAccepted' }>, taken: readonly { field: string; address: string; port: number; clusterId: string; sameAs?: { address: string; port: number } | undefined }[]): ClusterEvent {
  return refuseAccepted(
    accepted,
    taken.map((host) => reason('host-in-another-cluster', hostTakenMessage(host), host.field)),
  );
}

/** A request the domain accepted, refused for what taking it up found (room, hosts). */
function refuseAccepted(accepted: Extract<ClusterEvent, { type: 'ClusterAccepted' }>, reasons: ProvisionerReason[]): ClusterEvent {
  return {
    type: 'ClusterRejected',
    clusterId: accepted.clusterId,
    spec: accepted.spec,
    release: accepted.release,
    ...(accepted.policyRevision === undefined ? {} : { policyRevision: accepted.policyRevision }),
    reasons,
    at: accepted.at,
  };
}

export function hostTakenMessage(host: { address: string; port: number; clusterId: string; sameAs?: { address: string; port: number } | undefined }): string {
  const which = host.sameAs ? `host ${host.address}:${host.port} has the host key of ${host.sameAs.address}:${host.sameAs.port}, which` : `host ${host.address}:${host.port}`;
  return `${which} belongs to cluster "${host.clusterId}": a host is in one cluster at a time (delete that cluster, or scale its pool down, to free it)`;
}

/**
 * A machine that is coming up (Pending, Provisioning, Provisioned): what the provider or the node
 * bootstrap showed of it. For a Running cluster's new machines, the caller settles what follows.
 */
export function decideProvisioning(command: ObserveMachine, state: ClusterState, machine: MachineState): ClusterEvent[] {
  const { clusterId, observation, at } = command;
  const base = { clusterId, machine: machine.name, at };

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
      : [{ type: 'MachineFailed', ...base, reason: failure }];
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
    case 'node-rebooted':
    case 'machine-deleted':
      break;
  }
  if (events.length === 0) return [];
  if (initial) return [...events, ...followUps(state, events, at)];
  // A new machine of a Running cluster joined: the rest of the platform hears of its node now.
  const after = apply(state, events);
  const joined = events.flatMap((event) => (event.type === 'MachineRunning' ? [toNode(machineOf(after, event.machine))] : []));
  const announced: ClusterEvent[] = joined.length > 0 ? [{ type: 'NodesJoined', clusterId, model: state.model, nodes: joined, at }] : [];
  return [...events, ...announced];
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
      ...(state.apiServerEndpoint === null ? {} : { apiServerEndpoint: state.apiServerEndpoint }),
      release: state.release,
      ...(state.policyRevision === null ? {} : { policyRevision: state.policyRevision }),
      at,
    });
  }
  return extra;
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
