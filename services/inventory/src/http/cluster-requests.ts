import { ClusterDeletionRequested, ClusterId, ClusterModel, ClusterSpec, NodePoolScaleRequested, UpgradeStepApproved } from '@flotilla/contracts';
import { z } from 'zod';
import { CLUSTER_ACCESS, CLUSTER_STATUSES } from '../domain/cluster-view.js';
import { decodeHistoryCursor } from '../repositories/cluster.repository.js';

/** POST /api/v1/clusters: a cluster spec, with an optional id (generated from the name when absent). */
export const CreateClusterBody = ClusterSpec.extend({ id: ClusterId.optional() });
export type CreateClusterBody = z.infer<typeof CreateClusterBody>;

export const ListClustersQuery = z.object({
  model: ClusterModel.optional(),
  status: z.enum(CLUSTER_STATUSES).optional(),
  access: z.enum(CLUSTER_ACCESS).optional().describe('How the platform reaches the cluster: tunnel (registered behind a firewall) or direct'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
});
export type ListClustersQuery = z.infer<typeof ListClustersQuery>;

/** GET /api/v1/clusters/:id/history: newest first, a page at a time. */
export const ClusterHistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z
    .string()
    .min(1)
    .refine((text) => decodeHistoryCursor(text) !== undefined, 'must be the nextCursor of a previous page')
    .optional()
    .describe('nextCursor of the previous page'),
});
export type ClusterHistoryQuery = z.infer<typeof ClusterHistoryQuery>;


/** POST /api/v1/clusters/:id/node-pools/:pool/scale: the pool comes from the path. */
export const ScaleNodePoolBody = NodePoolScaleRequested.data.omit({ pool: true });
export type ScaleNodePoolBody = z.infer<typeof ScaleNodePoolBody>;

/** DELETE /api/v1/clusters/:id: the reason, in the body or the query (the body wins). */
export const DeleteClusterBody = ClusterDeletionRequested.data.optional();
export type DeleteClusterBody = z.infer<typeof DeleteClusterBody>;
export const DeleteClusterQuery = ClusterDeletionRequested.data;
export type DeleteClusterQuery = z.infer<typeof DeleteClusterQuery>;

/** POST /api/v1/clusters/:id/upgrades: one approved step of an upgrade plan. */
export const ApproveUpgradeStepBody = UpgradeStepApproved.data;
export type ApproveUpgradeStepBody = z.infer<typeof ApproveUpgradeStepBody>;

/** What the operators' commands about a cluster answer: the event that carries the request. */
export interface CommandAccepted {
  eventId: string;
  clusterId: string;
  href: string;
}
