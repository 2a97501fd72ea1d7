import { BadRequestException, Body, ConflictException, Controller, Delete, Get, Header, HttpCode, Inject, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { Access, Caller, forbidOutOfScope, inScope, noteAuditTarget, type AuthenticatedRequest, type Principal } from '@flotilla/auth';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiEmptyAnswer, ApiErrors, ApiPathParameters, ApiRequestBody, ZodValidationPipe } from '@flotilla/service-kit';
import { CreatedRegistrationAnswer, RegistrationAnswer } from '../http/answers.js';
import { CreateRegistrationBody, RegistrationPath } from './registration-settings.js';
import { RegistrationService, type RegistrationView } from './registration.service.js';

export interface CreatedRegistration {
  clusterId: string;
  registrationId: string;
  /** Shown once: only its hash is kept. */
  token: string;
  expiresAt: string;
  /** Multi-document YAML to apply on the workload cluster (holds the token). */
  manifest: string;
  href: string;
}

@ApiTags('registrations')
@Controller('api/v1/registrations')
export class RegistrationsController {
  constructor(@Inject(RegistrationService) private readonly registrations: RegistrationService) {}

  /**
   * Issues the token; the tunnel broker learns its hash (and the labels) from the bus. A caller
   * whose token is limited to clusters with given labels registers only clusters carrying them.
   */
  @Post()
  @Access('operator', { scoped: true })
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Register a cluster the global side cannot reach: a one-time token and the agent manifest to apply there' })
  @ApiRequestBody(CreateRegistrationBody, { clusterName: 'edge-store-042', ttlHours: 24, labels: { team: 'retail' } })
  @ApiAnswer(201, CreatedRegistrationAnswer, 'The token (shown once) and the manifest that holds it')
  @ApiErrors({ 400: 'Invalid request: every bad field is named (tunnelUrl when REGISTRATION_TUNNEL_URL is not configured)' })
  async create(@Body(new ZodValidationPipe(CreateRegistrationBody)) body: CreateRegistrationBody, @Caller() caller?: Principal, @Req() request?: AuthenticatedRequest): Promise<CreatedRegistration> {
    // Over HTTP the guard always names the caller (@Caller refuses otherwise).
    if (caller && !inScope(caller, body.labels)) forbidOutOfScope(caller, body.clusterName);
    const outcome = await this.registrations.issue(body);
    if (outcome.ok && request) noteAuditTarget(request, outcome.issued.clusterId);
    if (!outcome.ok) {
      const problem = { field: 'tunnelUrl', message: 'required: REGISTRATION_TUNNEL_URL is not configured, so the request must name the tunnel broker URL' };
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: [`${problem.field}: ${problem.message}`], errors: [problem] });
    }
    const { issued } = outcome;
    return {
      clusterId: issued.clusterId,
      registrationId: issued.registrationId,
      token: issued.token.revealString(),
      expiresAt: issued.expiresAt,
      manifest: issued.manifest.revealString(),
      href: `/api/v1/registrations/${issued.registrationId}`,
    };
  }

  @Get(':id')
  @Access('viewer')
  @ApiOperation({ summary: 'A registration: status (pending, used, expired, revoked) and times, never the token' })
  @ApiPathParameters(RegistrationPath)
  @ApiAnswer(200, RegistrationAnswer, 'The registration, never its token')
  @ApiErrors({ 400: 'The id is not a registration id (UUID)', 404: 'code token-unknown: no such registration' })
  async get(@Param(new ZodValidationPipe(RegistrationPath)) path: RegistrationPath): Promise<RegistrationView> {
    const registration = await this.registrations.find(path.id);
    if (!registration) throw new NotFoundException({ statusCode: 404, error: 'Not Found', code: 'token-unknown', message: `registration ${path.id} not found` });
    return registration;
  }

  @Delete(':id')
  @Access('operator')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a registration: its token can no longer be redeemed (revoking twice is harmless)' })
  @ApiPathParameters(RegistrationPath)
  @ApiEmptyAnswer(204, 'Revoked (or it already was)')
  @ApiErrors({ 400: 'The id is not a registration id (UUID)', 404: 'code token-unknown: no such registration', 409: 'code token-used: the token was already used; remove the cluster instead' })
  async revoke(@Param(new ZodValidationPipe(RegistrationPath)) path: RegistrationPath): Promise<void> {
    const outcome = await this.registrations.revoke(path.id);
    if (outcome.ok) return;
    switch (outcome.reason) {
      case 'token-unknown':
        throw new NotFoundException({ statusCode: 404, error: 'Not Found', code: outcome.reason, message: `registration ${path.id} not found` });
      case 'token-used':
        throw new ConflictException({ statusCode: 409, error: 'Conflict', code: outcome.reason, message: `registration ${path.id} was already used: remove the cluster instead` });
    }
  }
}
