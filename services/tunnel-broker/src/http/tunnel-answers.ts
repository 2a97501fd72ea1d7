import type { Enrolled } from '@flotilla/tunnel';
import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import { END_REASONS, SESSION_STATES, type TunnelSession } from '../domain/tunnel-session.js';
import type { SessionPage } from '../repositories/tunnel-session.repository.js';

/** One agent connection, as GET /api/v1/tunnels lists it. */
export const TunnelSessionAnswer = describes<TunnelSession>()(
  z.object({
    id: z.string(),
    clusterId: z.string(),
    agentId: z.string(),
    agentVersion: z.string(),
    remoteAddress: z.string().nullable().describe("The agent's address as the listener saw it"),
    replicaId: z.string().nullable().describe('The broker replica holding the connection'),
    state: z.enum(SESSION_STATES),
    openedAt: z.iso.datetime(),
    lastHeartbeatAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().describe('No heartbeat by then and the session is over'),
    endedAt: z.iso.datetime().nullable(),
    endReason: z.enum(END_REASONS).nullable(),
  }),
);

export const SessionPageAnswer = describes<SessionPage>()(
  z.object({
    items: z.array(TunnelSessionAnswer),
    total: z.number().int().describe('Sessions matching the filter, over every page'),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last'),
  }),
);

/** POST /api/v1/tunnels/enrollments: the agent's certificate and where to dial. */
export const EnrolledAnswer = describes<Enrolled>()(
  z.object({
    clusterId: z.string(),
    certificate: z.string().describe("PEM client certificate of the cluster's agent"),
    caCertificate: z.string().describe('PEM CA that signed it and the listener'),
    tunnelAddress: z.string().describe('host:port of the agents\' listener (mutual TLS)'),
    expiresAt: z.iso.datetime(),
  }),
);
