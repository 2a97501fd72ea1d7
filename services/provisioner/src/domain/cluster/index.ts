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
 *
 * By concern: `state`, `commands`, `events` and `errors` say what there is; `decide` routes a
 * command to `creation`, `scaling`, `deletion`, `upgrade` or `health`, and `settle` adds what a
 * decision sets in motion; `evolve` (with `summary`, the derived conditions) folds events into
 * state; `work` tells the reconciler what a machine needs. This file is the public surface.
 */

export type { ApproveUpgradeStep, ClusterCommand, HealthPolicy, MachineObservation, MaxUnhealthy, NewHost, ObserveMachine, RequestCluster, RequestDeletion, ScaleNodePool } from './commands.js';
export { assignApiServerEndpoint, canonicalJson, hostTakenMessage, refuseForHosts, refuseForPlacement } from './creation.js';
export { decide } from './decide.js';
export { ProvisionerError, type ProvisionerErrorCode } from './errors.js';
export type { ClusterEvent, HostRemediationFacts, MachineRef, NewMachine, UpgradeFacts } from './events.js';
export { evolve } from './evolve.js';
export { allowedUnhealthy } from './health.js';
export { controlPlaneReady, decideControlPlane, type ControlPlaneObservation, type ObserveControlPlane } from './hosted.js';
export {
  busyWith,
  CLUSTER_PHASES,
  isProvisioning,
  MACHINE_PHASES,
  sameVersion,
  type ClusterOperation,
  type ClusterPhase,
  type ClusterState,
  type HostRemediation,
  type MachinePhase,
  type MachineRemoval,
  type MachineState,
  type ReplaceReason,
} from './state.js';
export { upgradeOrder } from './upgrade.js';
export { machineWork, needsReconcile, type MachineWork } from './work.js';
