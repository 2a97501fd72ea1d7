import { CLUSTER_LIMITS } from '@flotilla/contracts';
import { machineSource } from '../machine-plan.js';
import type { ScaleNodePool } from './commands.js';
import { ProvisionerError } from './errors.js';
import type { ClusterEvent, NewMachine } from './events.js';
import { hostKey, nextMachineName, poolMachines, toNode } from './machines.js';
import { busyWith, type ClusterOperation, type ClusterState } from './state.js';

/*
 * Scaling a node pool of a Running cluster: up adds machines after the highest ordinal in use (on
 * users' hosts: exactly the new hosts given), as long as the cluster's workers stay within
 * CLUSTER_LIMITS; down releases the newest. The scale is over once no machine of the pool is in
 * flight.
 */

export function decideScale(command: ScaleNodePool, state: ClusterState): ClusterEvent[] {
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
  // A request can ask for no more workers than the contract allows (CLUSTER_LIMITS); growing one
  // pool at a time must not get further.
  const workers = state.machines.filter((machine) => machine.role === 'worker' && machine.phase !== 'Deleting').length - from + count;
  if (count > from && workers > CLUSTER_LIMITS.workers) {
    throw new ProvisionerError('cluster-too-large', `cluster "${clusterId}" would have ${workers} worker machines; its node pools may have at most ${CLUSTER_LIMITS.workers} in all`, 'count');
  }
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

/** The scale is over when every machine of the pool runs (the ones released are gone). */
export function scaleProgress(state: ClusterState, operation: Extract<ClusterOperation, { kind: 'scale' }>, at: string): ClusterEvent[] {
  const members = state.machines.filter((machine) => machine.role === 'worker' && machine.pool === operation.pool);
  if (members.some((machine) => machine.phase !== 'Running')) return [];
  return [{ type: 'NodePoolScaled', clusterId: state.id, model: state.model, pool: operation.pool, from: operation.from, to: members.length, requested: operation.to, nodes: members.map(toNode), removed: operation.removed, at }];
}

function refuseUnlessRunning(state: ClusterState, what: string): void {
  if (state.phase === 'Deleting' || state.phase === 'Deleted') throw new ProvisionerError('cluster-deleting', `cluster "${state.id}" is ${state.phase}`);
  if (state.phase !== 'Running') throw new ProvisionerError('cluster-not-running', `cluster "${state.id}" is ${state.phase}: ${what} once it is Running`);
}

function refuseIfBusy(state: ClusterState): void {
  const busy = busyWith(state);
  if (busy) throw new ProvisionerError('cluster-busy', `cluster "${state.id}" is busy: ${busy}; ask again when it is done`);
}
