import { BadRequestException, ConflictException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiEmptyAnswer, ApiErrors, ApiRequestBody, Clock, ZodValidationPipe } from '@flotilla/service-kit';
import { UnitOfWork } from '@flotilla/messaging';
import type { CredentialDescription } from '../credentials/credential-store.js';
import { prepareCredential, RegisterCredentialBody } from '../credentials/registration.js';
import { SecretCredentialStore } from '../credentials/secret-credential-store.js';
import { CredentialAnswer, CredentialListAnswer } from './answers.js';

const validation = new ZodValidationPipe(RegisterCredentialBody);

/**
 * Credentials the importer uses to reach clusters. Answers describe a credential (kind, expiry,
 * the server of a kubeconfig); no answer ever carries the secret. Every route is for admins,
 * listing and describing included.
 */
@ApiTags('credentials')
@Controller('api/v1/credentials')
export class CredentialsController {
  constructor(
    @Inject(SecretCredentialStore) private readonly credentials: SecretCredentialStore,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @Post()
  @Access('admin')
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a credential: a bearer token, a client certificate, a kubeconfig context or a cloud account' })
  @ApiRequestBody(RegisterCredentialBody, { ref: 'edge-eu-1-admin', kind: 'bearer-token', token: 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImVkZ2UifQ.c2VydmljZWFjY291bnQ.c2lnbmF0dXJl', server: 'https://edge-eu-1.example.com:6443' })
  @ApiAnswer(201, CredentialAnswer, 'Stored, encrypted: its description (never the secret)')
  @ApiErrors({ 400: 'Invalid: every bad field is named (values are never repeated)', 409: 'A credential with that ref exists' })
  // The raw request, not @Body(): Nest's default exception logging never sees an unvalidated secret.
  async register(@Req() request: { body: unknown }): Promise<CredentialDescription> {
    const body = validation.transform(request.body);
    const prepared = prepareCredential(body, this.clock.now());
    if (!prepared.ok) {
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: prepared.errors.map((problem) => `${problem.field}: ${problem.message}`), errors: prepared.errors });
    }
    if (!(await this.credentials.register(prepared.credential))) throw new ConflictException(`credential "${body.ref}" already exists: delete it first to replace it`);
    const described = await this.credentials.describe(body.ref);
    if (!described) throw new NotFoundException(`credential "${body.ref}" not found`);
    return described;
  }

  @Get()
  @Access('admin')
  @ApiOperation({ summary: 'Every credential, described' })
  @ApiAnswer(200, CredentialListAnswer, 'Every credential')
  @ApiErrors({ 503: 'The credentials cannot be read now (the database does not answer)' })
  async list(): Promise<{ items: CredentialDescription[] }> {
    return { items: await this.credentials.list() };
  }

  @Get(':ref')
  @Access('admin')
  @ApiOperation({ summary: 'One credential, described: kind, how it was given, expiry, metadata' })
  @ApiParam({ name: 'ref' })
  @ApiAnswer(200, CredentialAnswer, 'The credential, described')
  @ApiErrors({ 404: 'No such credential' })
  async get(@Param('ref') ref: string): Promise<CredentialDescription> {
    const described = await this.credentials.describe(ref);
    if (!described) throw new NotFoundException(`credential "${ref}" not found`);
    return described;
  }

  @Delete(':ref')
  @Access('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a credential and its secret; refused while a connected cluster uses it' })
  @ApiParam({ name: 'ref' })
  @ApiEmptyAnswer(204, 'Removed, with its secret')
  @ApiErrors({ 404: 'No such credential', 409: 'Connected clusters still use it (they are named)' })
  async delete(@Param('ref') ref: string): Promise<void> {
    await this.unitOfWork.run(async () => {
      // Public cloud clusters (src/managed) need their account until their deletion at the cloud is done.
      const users: { id: string }[] = await this.unitOfWork.manager.query(
        `SELECT id FROM connected_clusters WHERE credential_ref = $1 AND deleted_at IS NULL AND state <> 'Rejected'
         UNION SELECT id FROM managed_clusters WHERE credential_ref = $1 AND phase <> 'Deleted'
         ORDER BY id LIMIT 10`,
        [ref],
      );
      if (users.length > 0) throw new ConflictException(`credential "${ref}" is used by cluster(s) ${users.map((user) => user.id).join(', ')}: delete them first`);
      if (!(await this.credentials.delete(ref))) throw new NotFoundException(`credential "${ref}" not found`);
    });
  }
}
