import { Body, Controller, Delete, Get, GoneException, HttpCode, Inject, Ip, NotFoundException, Param, Post, Query, type HttpException } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiBody, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { SESSION_TIMING, type SessionTiming } from '../config.js';
import { SESSION_STATES } from '../domain/tunnel-session.js';
import { TunnelSessionRepository, type SessionPage } from '../repositories/tunnel-session.repository.js';
import { TunnelSessions, type SessionRefusal } from '../sessions/tunnel-sessions.js';
import { ClusterPath, ListTunnelsQuery, OpenSessionBody, SessionPath } from './session-requests.js';

const openBodySchema = z.toJSONSchema(OpenSessionBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

export interface OpenedSession {
  sessionId: string;
  clusterId: string;
  agentId: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  expiresAt: string;
  heartbeatUrl: string;
}

/** Every refusal an agent can get, with its status: the agent branches on `code`. */
function refusalError(refusal: SessionRefusal, path: SessionPath, timing: SessionTiming): HttpException {
  switch (refusal.code) {
    case 'session-not-found':
      return new NotFoundException({ statusCode: 404, error: 'Not Found', code: refusal.code, message: `no session ${path.sessionId} for cluster ${path.clusterId}` });
    case 'session-expired':
      return new GoneException({
        statusCode: 410,
        error: 'Gone',
        code: refusal.code,
        reason: refusal.reason,
        message: `session ${path.sessionId} expired: no heartbeat within ${timing.heartbeatTimeoutMs} ms; open a new session`,
      });
    case 'session-closed':
      return new GoneException({ statusCode: 410, error: 'Gone', code: refusal.code, reason: refusal.reason, message: `session ${path.sessionId} was closed (${refusal.reason ?? 'unknown reason'})` });
  }
}

/**
 * The agents' side of the tunnel server: open a session, keep it alive, close it. Agents call
 * with an operator token for now; they are to get their own certificates, and the session routes
 * a narrower credential, later.
 */
@ApiTags('tunnels')
@Controller('api/v1/tunnels')
export class TunnelsController {
  constructor(
    @Inject(TunnelSessions) private readonly tunnels: TunnelSessions,
    @Inject(TunnelSessionRepository) private readonly sessions: TunnelSessionRepository,
    @Inject(SESSION_TIMING) private readonly timing: SessionTiming,
  ) {}

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'Tunnel sessions, filtered by cluster and state, a page at a time' })
  @ApiQuery({ name: 'clusterId', required: false })
  @ApiQuery({ name: 'state', required: false, enum: SESSION_STATES })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  async list(@Query(new ZodValidationPipe(ListTunnelsQuery)) query: ListTunnelsQuery): Promise<SessionPage> {
    return this.sessions.list({ ...(query.clusterId ? { clusterId: query.clusterId } : {}), ...(query.state ? { state: query.state } : {}) }, query.limit, query.cursor);
  }

  @Post(':clusterId/sessions')
  @Access('operator')
  @ApiOperation({ summary: "An agent opens a session for its cluster; the cluster's first one connects it (TunnelConnected)" })
  @ApiParam({ name: 'clusterId' })
  @ApiBody({ schema: openBodySchema })
  @ApiResponse({ status: 201, description: 'Opened: send heartbeats to heartbeatUrl every heartbeatIntervalMs' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named' })
  async open(
    @Param(new ZodValidationPipe(ClusterPath)) path: ClusterPath,
    @Body(new ZodValidationPipe(OpenSessionBody)) body: OpenSessionBody,
    @Ip() remoteAddress: string | undefined,
  ): Promise<OpenedSession> {
    const session = await this.tunnels.open({ clusterId: path.clusterId, agentId: body.agentId, agentVersion: body.agentVersion, remoteAddress: remoteAddress ?? null });
    return {
      sessionId: session.id,
      clusterId: session.clusterId,
      agentId: session.agentId,
      heartbeatIntervalMs: this.timing.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.timing.heartbeatTimeoutMs,
      expiresAt: session.expiresAt,
      heartbeatUrl: `/api/v1/tunnels/${session.clusterId}/sessions/${session.id}/heartbeat`,
    };
  }

  @Post(':clusterId/sessions/:sessionId/heartbeat')
  @Access('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Keeps a session alive until expiresAt' })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'sessionId' })
  @ApiResponse({ status: 404, description: 'No such session for this cluster' })
  @ApiResponse({ status: 410, description: 'The session is over (code session-expired or session-closed, with the reason): open a new one' })
  async heartbeat(@Param(new ZodValidationPipe(SessionPath)) path: SessionPath): Promise<{ sessionId: string; expiresAt: string; heartbeatIntervalMs: number }> {
    const result = await this.tunnels.heartbeat(path.clusterId, path.sessionId);
    if (!result.ok) throw refusalError(result.refusal, path, this.timing);
    return { sessionId: result.session.id, expiresAt: result.session.expiresAt, heartbeatIntervalMs: this.timing.heartbeatIntervalMs };
  }

  @Delete(':clusterId/sessions/:sessionId')
  @Access('operator')
  @HttpCode(204)
  @ApiOperation({ summary: "Closes a session; the cluster's last one disconnects it (TunnelDisconnected, reason agent-closed)" })
  @ApiParam({ name: 'clusterId' })
  @ApiParam({ name: 'sessionId' })
  @ApiResponse({ status: 204, description: 'Closed, or already over' })
  @ApiResponse({ status: 404, description: 'No such session for this cluster' })
  async close(@Param(new ZodValidationPipe(SessionPath)) path: SessionPath): Promise<void> {
    if ((await this.tunnels.close(path.clusterId, path.sessionId)) === 'not-found') throw refusalError({ code: 'session-not-found' }, path, this.timing);
  }
}

