import { ClusterDeletionRequested, ClusterId, ClusterLabels, ClusterModel, ClusterSpec, NodePoolScaleRequested, UpgradeStepApproved } from '@flotilla/contracts';
import { z } from 'zod';
import { CLUSTER_ACCESS, CLUSTER_STATUSES } from '../domain/cluster-view.js';
import { CLUSTER_SORTS, decodeListCursor, SORT_ORDERS } from '../repositories/cluster-listing.js';
import { decodeHistoryCursor } from '../repositories/cluster.repository.js';

/** POST /api/v1/clusters: a cluster spec, with an optional id (generated from the name when absent). */
export const CreateClusterBody = ClusterSpec.extend({ id: ClusterId.optional() });
export type CreateClusterBody = z.infer<typeof CreateClusterBody>;

/** `team=a,env=prod`: labels as the command line and scopes write them. */
const LabelSelector = z
  .string()
  .min(1)
  .transform((text, context) => {
    const labels: Record<string, string> = {};
    for (const pair of text.split(',')) {
      const at = pair.indexOf('=');
      if (at <= 0) {
        context.addIssue({ code: 'custom', message: `"${pair}" is not key=value (labels are written team=a,env=prod)` });
        return z.NEVER;
      }
      labels[pair.slice(0, at)] = pair.slice(at + 1);
    }
    return labels;
  })
  .pipe(ClusterLabels);

export const ListClustersQuery = z
  .object({
    model: ClusterModel.optional(),
    status: z.enum(CLUSTER_STATUSES).optional(),
    access: z.enum(CLUSTER_ACCESS).optional().describe('How the platform reaches the cluster: tunnel (registered behind a firewall) or direct'),
    provider: z.string().min(1).max(63).optional().describe('Infrastructure or import provider (eks, aks, gke, cncf, or the platform\'s infrastructure provider)'),
    version: z
      .string()
      .regex(/^v?\d+\.\d+(\.\d+)?$/, 'must be a Kubernetes minor (1.34: every patch of it) or a version (1.34.2)')
      .optional()
      .describe('A Kubernetes minor (1.34: every patch of it) or a version (1.34.2)'),
    labels: LabelSelector.optional().describe('Clusters carrying every one of these labels: team=a,env=prod'),
    sort: z.enum(CLUSTER_SORTS).default('id').describe('id, name, status, version (numerically, unknown first), created, updated; ties by id'),
    order: z.enum(SORT_ORDERS).default('asc'),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    cursor: z
      .string()
      .min(1)
      .transform((text, context) => {
        const cursor = decodeListCursor(text);
        if (!cursor) context.addIssue({ code: 'custom', message: 'must be the nextCursor of a previous page' });
        return cursor ?? z.NEVER;
      })
      .optional()
      .describe('nextCursor of the previous page (same sort and order)'),
  })
  .superRefine((query, context) => {
    // A cursor holds the previous page's last sort key: it means nothing in another order.
    if (query.cursor && (query.cursor.sort !== query.sort || query.cursor.order !== query.order)) {
      context.addIssue({ code: 'custom', path: ['cursor'], message: `was made for sort=${query.cursor.sort}&order=${query.cursor.order}, not sort=${query.sort}&order=${query.order}` });
    }
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
