import { BadRequestException, Body, ConflictException, Controller, Delete, Get, GoneException, Header, HttpCode, Inject, NotFoundException, Param, Post, type HttpException } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { describeRedeemFailure, type RedeemFailure } from './registration.js';
import { CreateRegistrationBody, RedeemBody, RegistrationPath } from './registration-settings.js';
import { RegistrationService, type RegistrationView } from './registration.service.js';

const createSchema = z.toJSONSchema(CreateRegistrationBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;
const redeemSchema = z.toJSONSchema(RedeemBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

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

function redeemError(reason: RedeemFailure): HttpException {
  const body = { code: reason, message: describeRedeemFailure(reason) };
  switch (reason) {
    case 'token-unknown':
      return new NotFoundException({ statusCode: 404, error: 'Not Found', ...body });
    case 'token-expired':
    case 'token-revoked':
    case 'token-used':
      return new GoneException({ statusCode: 410, error: 'Gone', ...body });
  }
}

@ApiTags('registrations')
@Controller('api/v1/registrations')
export class RegistrationsController {
  constructor(@Inject(RegistrationService) private readonly registrations: RegistrationService) {}

  @Post()
  @Access('operator')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Register a cluster the global side cannot reach: a one-time token and the agent manifest to apply there' })
  @ApiBody({ schema: createSchema })
  @ApiResponse({ status: 201, description: 'The token (shown once) and the manifest that holds it' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named' })
  async create(@Body(new ZodValidationPipe(CreateRegistrationBody)) body: CreateRegistrationBody): Promise<CreatedRegistration> {
    const outcome = await this.registrations.issue(body);
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
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 404, description: 'No such registration' })
  async get(@Param(new ZodValidationPipe(RegistrationPath)) path: RegistrationPath): Promise<RegistrationView> {
    const registration = await this.registrations.find(path.id);
    if (!registration) throw new NotFoundException({ statusCode: 404, error: 'Not Found', code: 'token-unknown', message: `registration ${path.id} not found` });
    return registration;
  }

  @Delete(':id')
  @Access('operator')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a registration: its token can no longer be redeemed (revoking twice is harmless)' })
  @ApiParam({ name: 'id' })
  @ApiResponse({ status: 404, description: 'No such registration' })
  @ApiResponse({ status: 409, description: 'The token was already used: remove the cluster instead' })
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

  /**
   * For the tunnel broker when an agent presents its token: accepted once. Operators only until
   * agents authenticate with certificates of their own.
   */
  @Post('redemptions')
  @Access('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Redeem a registration token (once): answers the cluster it registers' })
  @ApiBody({ schema: redeemSchema })
  @ApiResponse({ status: 404, description: 'token-unknown' })
  @ApiResponse({ status: 410, description: 'token-expired, token-revoked or token-used' })
  async redeem(@Body(new ZodValidationPipe(RedeemBody)) body: RedeemBody): Promise<RegistrationView> {
    const outcome = await this.registrations.redeem(body.token);
    if (!outcome.ok) throw redeemError(outcome.reason);
    return outcome.registration;
  }
}
