import { ClusterId, ClusterModel, ClusterSpec } from '@flotilla/contracts';
import { z } from 'zod';
import { CLUSTER_STATUSES } from '../domain/cluster-view.js';

/** POST /api/v1/clusters: a cluster spec, with an optional id (generated from the name when absent). */
export const CreateClusterBody = ClusterSpec.extend({ id: ClusterId.optional() });
export type CreateClusterBody = z.infer<typeof CreateClusterBody>;

export const ListClustersQuery = z.object({
  model: ClusterModel.optional(),
  status: z.enum(CLUSTER_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
});
export type ListClustersQuery = z.infer<typeof ListClustersQuery>;

