import type { Provider } from '@nestjs/common';
import { HostedControlPlanes1732300004000 } from './1732300004000-hosted-control-planes.js';
import { CONTROL_PLANE_ENDPOINTS, CONTROL_PLANE_PLACEMENT } from './control-plane-placement.js';
import { HostedControlPlaneEntity, ManagementClusterEntity } from './entities.js';
import { HostedControlPlanePlacement } from './hosted-control-plane-placement.js';
import { HostedControlPlanesController } from './hosted-control-planes.controller.js';
import { ManagementClusterRegistry } from './management-cluster-registry.js';
import { ManagementClustersController } from './management-clusters.controller.js';

export * from './control-plane-placement.js';
export { HostedControlPlanePlacement, type PlacedControlPlane } from './hosted-control-plane-placement.js';
export { ManagementClusterRegistry } from './management-cluster-registry.js';

/** What the provisioner module spreads in to host control planes. */
export const hostedEntities = [ManagementClusterEntity, HostedControlPlaneEntity];
export const hostedMigrations = [HostedControlPlanes1732300004000];
export const hostedControllers = [ManagementClustersController, HostedControlPlanesController];
export const hostedProviders: Provider[] = [
  ManagementClusterRegistry,
  HostedControlPlanePlacement,
  { provide: CONTROL_PLANE_PLACEMENT, useExisting: HostedControlPlanePlacement },
  { provide: CONTROL_PLANE_ENDPOINTS, useExisting: HostedControlPlanePlacement },
];
