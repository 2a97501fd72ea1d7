import { BadRequestException, Body, ConflictException, Controller, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { Access, Caller, forbidOutOfScope, inScope, noteAuditTarget, type AuthenticatedRequest, type Principal } from '@flotilla/auth';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { clusterIdFor, ClusterImportRequested } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { ZodValidationPipe } from '@flotilla/service-kit';
import { z } from 'zod';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { bindingReason, isActive } from '../domain/connected-cluster.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { CreateImportBody } from './import-requests.js';

const bodySchema = z.toJSONSchema(CreateImportBody, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

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
  @ApiBody({ schema: bodySchema })
  @ApiResponse({ status: 202, description: 'Accepted: follow it at href (Requested, then Imported or Rejected)' })
  @ApiResponse({ status: 400, description: 'Invalid request: every bad field is named (an apiServer the credential is not bound to included)' })
  @ApiResponse({ status: 403, description: "The caller's label scope does not cover the labels of the cluster (a scoped caller must give labels)" })
  @ApiResponse({ status: 409, description: 'That id is already imported or being imported' })
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
