import { Controller, Get, Inject, Query } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ZodValidationPipe } from '@flotilla/service-kit';
import { TunnelSessionRepository, type SessionPage } from '../repositories/tunnel-session.repository.js';
import { ListTunnelsQuery } from './session-requests.js';
import { SessionPageAnswer } from './tunnel-answers.js';

/**
 * Tunnel sessions as operators see them. Agents do not call this API: a session is an agent's
 * connection to the agents' listener, opened with its certificate and kept while it lasts.
 */
@ApiTags('tunnels')
@Controller('api/v1/tunnels')
export class TunnelsController {
  constructor(@Inject(TunnelSessionRepository) private readonly sessions: TunnelSessionRepository) {}

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'Tunnel sessions, filtered by cluster and state, a page at a time' })
  @ApiQueryParameters(ListTunnelsQuery)
  @ApiAnswer(200, SessionPageAnswer, 'A page of sessions, newest first')
  @ApiErrors({ 400: 'Invalid filter, limit or cursor: every bad field is named' })
  async list(@Query(new ZodValidationPipe(ListTunnelsQuery)) query: ListTunnelsQuery): Promise<SessionPage> {
    return this.sessions.list({ ...(query.clusterId ? { clusterId: query.clusterId } : {}), ...(query.state ? { state: query.state } : {}) }, query.limit, query.cursor);
  }
}
