import { BadRequestException, Body, ConflictException, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { Access, Caller, forbidOutOfScope, inScope, noteAuditTarget, type AuthenticatedRequest, type Principal } from '@flotilla/auth';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { clusterIdFor, ClusterImportRequested } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { ApiAnswer, ApiErrors, ApiRequestBody, ZodValidationPipe } from '@flotilla/service-kit';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { bindingReason, isActive } from '../domain/connected-cluster.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { ImportAcceptedAnswer } from './answers.js';
import { CreateImportBody } from './import-requests.js';

@ApiTags('imports')
@Controller('api/v1/imports')
export class ImportsController {
  constructor(
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
  ) {}

  /**
   * Validates and emits ClusterImportRequested through the outbox. The importer's own handler
   * records and judges it like a request from anyone else on the bus: one path for all. A caller
   * whose token is limited to clusters with given labels imports only clusters carrying them.
   */
  @Post()
  @Access('operator', { scoped: true })
  @HttpCode(202)
  @ApiOperation({ summary: 'Ask to bring an existing cluster under management' })
  @ApiRequestBody(CreateImportBody, { id: 'edge-eu-1', name: 'edge-eu-1', provider: 'cncf', apiServer: 'https://edge-eu-1.example.com:6443', credentialRef: 'edge-eu-1-admin', labels: { team: 'edge' } })
  @ApiAnswer(202, ImportAcceptedAnswer, 'Accepted: follow it at href (Requested, then Imported or Rejected)')
  @ApiErrors({ 400: 'Invalid request: every bad field is named (an apiServer the credential is not bound to included)', 409: 'That id is already imported or being imported' })
  async create(@Body(new ZodValidationPipe(CreateImportBody)) body: CreateImportBody, @Caller() caller?: Principal, @Req() request?: AuthenticatedRequest): Promise<{ id: string; href: string }> {
    const { id: requestedId, ...data } = body;
    const id = requestedId ?? clusterIdFor(data.name);
    // Over HTTP the guard always names the caller (@Caller refuses otherwise); code in the service itself calls without one.
    if (request) noteAuditTarget(request, id);
    if (caller && !inScope(caller, data.labels)) forbidOutOfScope(caller, id);
    await this.unitOfWork.run(async () => {
      const current = await this.clusters.find(id);
      // A best-effort early answer; the handler is the authority (it dead-letters a duplicate that races past this).
      if (isActive(current)) throw new ConflictException(`connected cluster "${id}" is already ${current.state}`);
      // A credential goes only to the server it is bound to: refused here when it can be told at once (the handler checks again).
      const credential = await this.credentials.find(data.credentialRef);
      const refusal = credential && bindingReason(credential, data.apiServer);
      if (refusal) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: [`${refusal.field}: ${refusal.message}`], errors: [refusal] });
      this.unitOfWork.emit(ClusterImportRequested, id, data);
    });
    return { id, href: `/api/v1/connected-clusters/${id}` };
  }
}
