import { Controller, Get, HttpException, Inject, NotFoundException, Param, Query, Req } from '@nestjs/common';
import { Access, AuditTrail, type AuthenticatedRequest } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ZodValidationPipe } from '@flotilla/service-kit';
import { CloudClustersAnswer } from '../http/answers.js';
import { z } from 'zod';
import { CloudAccess } from './cloud-access.js';
import { CLOUD_PROVIDERS, type CloudCluster } from './cloud-provider.js';
import { CloudError, type CloudErrorCode } from './errors.js';
import type { RevealableSecret } from './secret.js';

/** Where the controller opens a stored cloud account; bound to the secret store. */
export interface CloudAccountSecrets {
  /** The secret stored under `ref`, or undefined when there is none. */
  reveal(ref: string): Promise<RevealableSecret | undefined>;
}
export const CLOUD_ACCOUNT_SECRETS = Symbol('CloudAccountSecrets');

const name = z.string().trim().min(1).max(256);
export const ListCloudClustersQuery = z
  .object({
    provider: z.enum(CLOUD_PROVIDERS),
    region: name.optional().describe('eks: AWS region'),
    subscriptionId: name.optional().describe('aks: Azure subscription id'),
    resourceGroup: name.optional().describe('aks: only this resource group'),
    projectId: name.optional().describe('gke: Google Cloud project id'),
    location: name.optional().describe('gke: only this zone or region'),
  })
  .superRefine((query, context) => {
    const need = { eks: 'region', aks: 'subscriptionId', gke: 'projectId' } as const;
    const field = need[query.provider];
    if (query[field] === undefined) context.addIssue({ code: 'custom', path: [field], message: `required for ${query.provider}` });
  });
export type ListCloudClustersQuery = z.infer<typeof ListCloudClustersQuery>;

/** How a cloud failure reads over HTTP: problems with the stored account are 422, the cloud's own trouble 502/503. */
export function httpStatusForCloudError(code: CloudErrorCode): number {
  switch (code) {
    case 'cloud-location-invalid':
      return 400;
    case 'cloud-cluster-not-found':
      return 404;
    case 'cloud-account-invalid':
    case 'cloud-auth-failed':
    case 'cloud-access-denied':
    case 'cloud-quota-exceeded':
    case 'cloud-version-not-offered':
    case 'cloud-request-invalid':
      return 422;
    case 'cloud-name-taken':
      return 409;
    case 'cloud-throttled':
      return 503;
    case 'cloud-unreachable':
    case 'cloud-response-invalid':
    case 'cloud-failed':
      return 502;
  }
}

@ApiTags('cloud-accounts')
@Controller('api/v1/cloud-accounts')
export class CloudAccountsController {
  constructor(
    @Inject(CloudAccess) private readonly clouds: CloudAccess,
    @Inject(CLOUD_ACCOUNT_SECRETS) private readonly secrets: CloudAccountSecrets,
    @Inject(AuditTrail) private readonly audit: Pick<AuditTrail, 'recordUse'>,
  ) {}

  /** Opens a stored cloud account for a cloud API call: admins only, and every use is audited. */
  @Get(':credentialRef/clusters')
  @Access('admin')
  @ApiOperation({ summary: 'Clusters a stored cloud account can import, with version and node groups' })
  @ApiParam({ name: 'credentialRef', description: 'A stored cloud-account credential' })
  @ApiQueryParameters(ListCloudClustersQuery)
  @ApiAnswer(200, CloudClustersAnswer, 'The clusters the account sees')
  @ApiErrors({
    400: 'A required location field is missing: it is named',
    404: 'No credential with that reference',
    422: 'The stored account is invalid, or the cloud refused it (code cloud-account-invalid, cloud-auth-failed, cloud-access-denied)',
    502: 'The cloud did not answer or answered something unusable',
    503: 'The cloud is throttling: try again later',
  })
  async list(
    @Param('credentialRef') credentialRef: string,
    @Query(new ZodValidationPipe(ListCloudClustersQuery)) query: ListCloudClustersQuery,
    @Req() request: Pick<AuthenticatedRequest, 'principal'>,
  ): Promise<{ items: CloudCluster[] }> {
    const secret = await this.secrets.reveal(credentialRef);
    if (secret === undefined) throw new NotFoundException(`credential "${credentialRef}" not found`);
    const { provider, ...location } = query;
    const use = { what: 'cloud-account', ...(request.principal ? { subject: request.principal.subject } : {}) };
    const listing = `cloud account "${credentialRef}": list ${provider} clusters`;
    try {
      const items = await this.clouds.list(provider, secret, location);
      await this.audit.recordUse({ ...use, ok: true, reason: listing });
      return { items };
    } catch (error) {
      // CloudError messages name the provider, the call and the resource, never the account's secret.
      await this.audit.recordUse({ ...use, ok: false, reason: `${listing}: ${error instanceof CloudError ? error.message : 'unexpected error'}` });
      if (!(error instanceof CloudError)) throw error;
      const status = httpStatusForCloudError(error.code);
      // A 400 names the field at fault in errors[], as every other 400 does.
      const problems = status === 400 ? { errors: [{ field: error.field ?? '(query)', code: error.code, message: error.message }] } : {};
      throw new HttpException({ statusCode: status, code: error.code, message: error.message, ...(error.field === undefined ? {} : { field: error.field }), ...problems }, status);
    }
  }
}
