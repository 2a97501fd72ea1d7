import { ClusterId, ClusterImportRequested } from '@flotilla/contracts';
import { z } from 'zod';
import { CONNECTED_CLUSTER_STATES } from '../domain/connected-cluster.js';
import { isTunnelRef } from '../domain/tunnel-cluster.js';

/**
 * POST /api/v1/imports: the ClusterImportRequested data with an optional id, checked harder than
 * the event (explicit provider, an https API server, and one for every CNCF cluster but those
 * registered through the tunnel: importing one again names the tunnel's credentialRef instead).
 */
export const CreateImportBody = ClusterImportRequested.data
  .extend({
    id: ClusterId.optional(),
    apiServer: z
      .url({ protocol: /^https$/, error: 'must be an https:// URL of the API server' })
      .optional()
      .describe('API server URL; omitted only for a cloud provider that locates the cluster'),
    provider: z.enum(['cncf', 'eks', 'aks', 'gke']),
  })
  .superRefine((body, context) => {
    if (body.provider === 'cncf' && body.apiServer === undefined && !isTunnelRef(body.credentialRef)) {
      context.addIssue({ code: 'custom', path: ['apiServer'], message: 'required for a cncf cluster: the importer reaches it at this address' });
    }
  });
export type CreateImportBody = z.infer<typeof CreateImportBody>;

export const ListConnectedClustersQuery = z.object({
  state: z.enum(CONNECTED_CLUSTER_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
});
export type ListConnectedClustersQuery = z.infer<typeof ListConnectedClustersQuery>;

