import type { ClusterState, MachineState } from './state.js';

/** What the reconciler has to do with a machine now. */
export type MachineWork = 'none' | 'provision' | 'health-check' | 'upgrade' | 'reboot' | 'remove';

export function machineWork(cluster: Pick<ClusterState, 'phase'>, machine: Pick<MachineState, 'phase' | 'upgrade' | 'remediation'>): MachineWork {
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
          if (machine.upgrade) return 'upgrade';
          // A user's host to reboot (once; then its health is checked again).
          return machine.remediation?.action === 'reboot' && machine.remediation.rebootedAt === null ? 'reboot' : 'health-check';
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
export function needsReconcile(cluster: Pick<ClusterState, 'phase'>, machine: Pick<MachineState, 'phase' | 'upgrade' | 'remediation'>): boolean {
  return machineWork(cluster, machine) !== 'none';
}
