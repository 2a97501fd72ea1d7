import { Controller, HttpCode, HttpException, Inject, Logger, Param, Post, Req } from '@nestjs/common';
import { Access, noteAuditTarget, type AuthenticatedRequest } from '@flotilla/auth';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ClusterAdopted } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { ApiAnswer, ApiErrors } from '@flotilla/service-kit';
import { z } from 'zod';
import { CloudAccess } from '../clouds/cloud-access.js';
import { httpStatusForCloudError } from '../clouds/cloud-accounts.controller.js';
import { CloudError } from '../clouds/errors.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { adoptedCluster, adoptedEvent, adoptionRefusal, placeOfImport } from './adoption.js';
import { LifecycleUnavailableError, type CloudLifecycles } from './lifecycles.js';
import { ManagedClusterRepository } from './managed-cluster.repository.js';
import { CLOUD_LIFECYCLES } from './managed-reconciler.js';
import { targetOf } from './managed-cluster.js';

export const AdoptionAnswer = z.object({
  id: z.string(),
  provider: z.enum(['eks', 'aks', 'gke']),
  cloudName: z.string().describe("The cluster's name at its cloud"),
  kubernetesVersion: z.string(),
  nodePools: z.array(z.object({ name: z.string(), count: z.number().int(), machineSize: z.string(), minCount: z.number().int(), maxCount: z.number().int() })),
});
export type AdoptionAnswer = z.infer<typeof AdoptionAnswer>;

const refuse = (status: number, code: string, message: string): never => {
  throw new HttpException({ statusCode: status, code, message }, status);
};

/**
 * Adoption: an imported EKS, AKS or GKE cluster becomes a managed one (model public-cloud). Its
 * node groups are read from the cloud with its stored account and become the desired state, so
 * scale, upgrade and delete requests work for it from then on; ClusterAdopted says so.
 */
@ApiTags('connected-clusters')
@Controller('api/v1/connected-clusters')
export class AdoptionController {
  private readonly logger = new Logger(AdoptionController.name);

  constructor(
    @Inject(ConnectedClusterRepository) private readonly connected: ConnectedClusterRepository,
    @Inject(ManagedClusterRepository) private readonly managed: ManagedClusterRepository,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(CloudAccess) private readonly clouds: CloudAccess,
    @Inject(CLOUD_LIFECYCLES) private readonly lifecycles: CloudLifecycles,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
  ) {}

  @Post(':id/adoption')
  @Access('operator')
  @HttpCode(200)
  @ApiOperation({ summary: 'Manage an imported EKS, AKS or GKE cluster from now on: its node groups become its desired state (ClusterAdopted)' })
  @ApiParam({ name: 'id' })
  @ApiAnswer(200, AdoptionAnswer, 'Adopted: scale, upgrade and delete requests now act on it at its cloud')
  @ApiErrors({
    404: 'No such connected cluster (or it was deleted), or its cloud no longer has it',
    409: 'Managed already, or not imported (yet)',
    422: 'Not a cloud cluster, or its cloud account is refused',
    502: 'The cloud did not answer',
    503: 'The cloud is throttling the account',
  })
  async adopt(@Param('id') id: string, @Req() request?: AuthenticatedRequest): Promise<AdoptionAnswer> {
    if (request) noteAuditTarget(request, id);
    const cluster = await this.connected.find(id);
    const early = adoptionRefusal(cluster, id, await this.managed.find(id));
    if (early !== undefined || cluster === undefined || cluster.cloud === null || cluster.provider === 'cncf') {
      return refuse(early?.status ?? 404, early?.code ?? 'cluster-not-found', early?.message ?? `connected cluster "${id}" not found`);
    }
    const provider = cluster.provider;
    const material = await this.credentials.open(cluster.credentialRef);
    if (material?.kind !== 'cloud-account' || material.provider !== provider) {
      return refuse(422, 'credential-kind-mismatch', `credential "${cluster.credentialRef}" is not a ${provider} cloud account any more`);
    }
    // The cloud is read with no transaction open; what is recorded is checked again under the cluster's lock.
    let adopted;
    let described;
    try {
      described = await this.clouds.describe(provider, material.account, cluster.cloud);
      const place = placeOfImport(provider, cluster.cloud, described);
      const target = targetOf({ place, cloudName: cluster.cloud.clusterName });
      const lifecycle = this.lifecycles.open(provider, material.account);
      const groups = await lifecycle.listNodeGroups(target);
      // Tagged as Flotilla's before it is recorded as managed: deletes touch only what carries the tag.
      await lifecycle.adoptCluster(target, id);
      adopted = adoptedCluster(cluster, place, described, groups, new Date());
    } catch (error) {
      if (error instanceof CloudError) return refuse(httpStatusForCloudError(error.code), error.code, error.message);
      if (error instanceof LifecycleUnavailableError) return refuse(422, 'cloud-provider-unavailable', error.message);
      throw error;
    }
    const event = adoptedEvent(adopted, described);
    await this.unitOfWork.run(async () => {
      const again = adoptionRefusal(await this.connected.find(id), id, await this.managed.findForUpdate(id));
      if (again !== undefined) refuse(again.status, again.code, again.message);
      await this.managed.save(adopted);
      this.unitOfWork.emit(ClusterAdopted, id, event);
    });
    this.logger.log({ msg: 'cloud cluster adopted', clusterId: id, provider, nodeGroups: adopted.nodeGroups.map((group) => group.name) });
    return { id, provider, cloudName: adopted.cloudName, kubernetesVersion: event.kubernetesVersion, nodePools: event.nodePools };
  }
}
