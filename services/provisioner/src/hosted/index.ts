import type { Provider } from '@nestjs/common';
import { HostedControlPlanes1732300004000 } from './1732300004000-hosted-control-planes.js';
import { HostedControlPlaneState1732300019800 } from './1732300019800-hosted-control-plane-state.js';
import { HostedControlPlaneQueue } from './control-plane-queue.js';
import { HostedControlPlaneReconciler } from './control-plane-reconciler.js';
import { CONTROL_PLANE_ENDPOINTS, CONTROL_PLANE_PLACEMENT } from './control-plane-placement.js';
import { HostedControlPlaneEntity, ManagementClusterEntity } from './entities.js';
import { HostedControlPlanePlacement } from './hosted-control-plane-placement.js';
import { HostedControlPlanesController } from './hosted-control-planes.controller.js';
import { ManagementClusterRegistry } from './management-cluster-registry.js';
import { ManagementClustersController } from './management-clusters.controller.js';
import { ManagementClusterAccess } from './management-credentials.js';
import { TenantClusters } from './tenant-clusters.js';

export * from './control-plane-placement.js';
export { HostedControlPlanePlacement, type PlacedControlPlane } from './hosted-control-plane-placement.js';
export { ManagementClusterRegistry } from './management-cluster-registry.js';
export { ManagementClusterAccess } from './management-credentials.js';
export { TenantClusters, type TenantJoin } from './tenant-clusters.js';
export { HostedControlPlaneReconciler } from './control-plane-reconciler.js';

/** What the provisioner module spreads in to host control planes. */
export const hostedEntities = [ManagementClusterEntity, HostedControlPlaneEntity];
export const hostedMigrations = [HostedControlPlanes1732300004000, HostedControlPlaneState1732300019800];
export const hostedControllers = [ManagementClustersController, HostedControlPlanesController];
export const hostedProviders: Provider[] = [
  ManagementClusterAccess,
  ManagementClusterRegistry,
  TenantClusters,
  HostedControlPlanePlacement,
  { provide: CONTROL_PLANE_PLACEMENT, useExisting: HostedControlPlanePlacement },
  { provide: CONTROL_PLANE_ENDPOINTS, useExisting: HostedControlPlanePlacement },
];
/** The reconciler that applies control planes to their management clusters (it needs the provisioner's cluster repository and bus). */
export const hostedReconcilerProviders: Provider[] = [HostedControlPlaneQueue, HostedControlPlaneReconciler];
