import { utilisation, type Capacity, type ManagementClusterLoad, type ManagementClusterState, type Usage, type Utilisation } from './placement.js';
import { add, DEDICATED_CONTROL_PLANE_MACHINE, scale, subtract, ZERO, type Resources } from './sizing.js';

/** A hosted control plane as the report sees it. */
export interface ReservedControlPlane {
  clusterId: string;
  managementCluster: string;
  replicas: number;
  reserved: Resources;
}

/** What dedicated control-plane machines would cost, what hosting costs, and the difference. */
export interface Comparison {
  controlPlanes: number;
  replicas: number;
  dedicated: Resources;
  hosted: Resources;
  saved: Resources;
}

export interface ManagementClusterSavings extends Comparison {
  name: string;
  state: ManagementClusterState;
  capacity: Capacity;
  used: Usage;
  utilisation: Utilisation;
}

export interface SavingsReport {
  /** One dedicated control-plane machine, per replica (DEDICATED_CONTROL_PLANE_MACHINE). */
  dedicatedMachine: Resources;
  totals: Comparison;
  managementClusters: ManagementClusterSavings[];
  controlPlanes: (Comparison & { clusterId: string; managementCluster: string })[];
}

/**
 * Resources saved against dedicated control planes: each hosted control plane would otherwise
 * run on `replicas` dedicated machines; it holds only what was reserved for it.
 */
export function savingsReport(loads: readonly ManagementClusterLoad[], controlPlanes: readonly ReservedControlPlane[]): SavingsReport {
  const perControlPlane = controlPlanes.map((controlPlane) => ({
    clusterId: controlPlane.clusterId,
    managementCluster: controlPlane.managementCluster,
    ...compare(1, controlPlane.replicas, controlPlane.reserved),
  }));
  const byCluster = new Map<string, Comparison>();
  for (const row of perControlPlane) byCluster.set(row.managementCluster, combine(byCluster.get(row.managementCluster) ?? EMPTY, row));
  return {
    dedicatedMachine: { ...DEDICATED_CONTROL_PLANE_MACHINE },
    totals: perControlPlane.reduce<Comparison>(combine, EMPTY),
    managementClusters: loads.map((load) => ({
      name: load.name,
      state: load.state,
      capacity: load.capacity,
      used: load.used,
      utilisation: utilisation(load.capacity, load.used),
      ...(byCluster.get(load.name) ?? EMPTY),
    })),
    controlPlanes: perControlPlane,
  };
}

const EMPTY: Comparison = { controlPlanes: 0, replicas: 0, dedicated: ZERO, hosted: ZERO, saved: ZERO };

function compare(controlPlanes: number, replicas: number, hosted: Resources): Comparison {
  const dedicated = scale(DEDICATED_CONTROL_PLANE_MACHINE, replicas);
  return { controlPlanes, replicas, dedicated, hosted, saved: subtract(dedicated, hosted) };
}

function combine(a: Comparison, b: Comparison): Comparison {
  return {
    controlPlanes: a.controlPlanes + b.controlPlanes,
    replicas: a.replicas + b.replicas,
    dedicated: add(a.dedicated, b.dedicated),
    hosted: add(a.hosted, b.hosted),
    saved: add(a.saved, b.saved),
  };
}
