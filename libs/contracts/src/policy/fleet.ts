import { z } from 'zod';
import { ClusterId, ClusterModel } from '../events/common.js';

/** What the planner needs to know about one workload cluster (the global cluster is not in it). */
export const FleetNodePool = z.object({
  name: z.string().min(1),
  version: z.string().min(1).describe('Kubelet version of the pool as reported, e.g. v1.31.4-eks-1a2b3c'),
});
export type FleetNodePool = z.infer<typeof FleetNodePool>;

export const FleetCluster = z.object({
  id: ClusterId,
  model: ClusterModel,
  controlPlaneVersion: z.string().min(1).describe('API server version as reported, e.g. v1.33.5-eks-113cf36'),
  nodePools: z.array(FleetNodePool),
  distribution: z.string().min(1).optional().describe('e.g. eks, gke, k3s; shown to people, never used to decide'),
  platformRelease: z.string().min(1).optional().describe('Platform release the workload cluster runs, when known'),
});
export type FleetCluster = z.infer<typeof FleetCluster>;
