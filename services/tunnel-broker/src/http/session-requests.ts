import { ClusterId } from '@flotilla/contracts';
import { z } from 'zod';
import { SESSION_STATES } from '../domain/tunnel-session.js';

export const ListTunnelsQuery = z.object({
  clusterId: ClusterId.optional(),
  state: z.enum(SESSION_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
});
export type ListTunnelsQuery = z.infer<typeof ListTunnelsQuery>;

/** POST /api/v1/tunnels/enrollments: an agent's first call, with its one-time token. */
export const EnrollmentBody = z
  .object({
    token: z.string().min(1).max(200).describe('The one-time registration token from the manifest'),
    csr: z.string().min(1).max(16_384).describe('PEM PKCS#10 certificate request for an ECDSA P-256 key the agent made'),
    agentId: z.string().min(1).max(253).describe('Stable id of the agent instance (e.g. its pod name)'),
    agentVersion: z.string().min(1).max(64).default('unknown').describe('Version of the tunnel agent'),
  })
  .strict();
export type EnrollmentBody = z.infer<typeof EnrollmentBody>;
