import { ClusterId } from '@flotilla/contracts';
import { z } from 'zod';
import { SESSION_STATES } from '../domain/tunnel-session.js';

export const ClusterPath = z.object({ clusterId: ClusterId });
export type ClusterPath = z.infer<typeof ClusterPath>;

export const SessionPath = z.object({ clusterId: ClusterId, sessionId: z.uuid('must be a session id (a UUID)') });
export type SessionPath = z.infer<typeof SessionPath>;

/** POST /api/v1/tunnels/{clusterId}/sessions: who is connecting. */
export const OpenSessionBody = z.object({
  agentId: z.string().min(1).max(253).describe('Stable id of the agent instance (e.g. its pod name)'),
  agentVersion: z.string().min(1).max(64).describe('Version of the tunnel agent'),
});
export type OpenSessionBody = z.infer<typeof OpenSessionBody>;

export const ListTunnelsQuery = z.object({
  clusterId: ClusterId.optional(),
  state: z.enum(SESSION_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
});
export type ListTunnelsQuery = z.infer<typeof ListTunnelsQuery>;
