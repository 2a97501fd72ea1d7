import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterProgress, ClusterProvisioningFailed, ClusterRequested, NodePoolScaleRequested, UpgradeStepApproved, UpgradeStepFailed, type EventOf, type Reason } from '@flotilla/contracts';
import { OnEvent, PermanentError, UnitOfWork } from '@flotilla/messaging';
import { Clock } from '@flotilla/service-kit';
import { SecretCredentialStore } from '../credentials/secret-credential-store.js';
import { isActive } from '../domain/connected-cluster.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { ONBOARDING_POLICY, type OnboardingPolicySource } from '../workers/import-worker.js';
import { decideClusterRequest } from './cluster-request.js';
import { ManagedClusterRepository } from './managed-cluster.repository.js';
import { minorOf } from './managed-cluster.js';
import { progressData } from './outcome.js';
import { decideScale, decideUpgrade, newManagedCluster, type RequestOutcome } from './requests.js';

/**
 * Requests about public cloud clusters (model public-cloud). Fast database work only: each is
 * judged and recorded, with its answer or its first ClusterProgress, in the transaction of its
 * inbox entry; the cloud calls are the reconciler's.
 */
@Controller()
export class ManagedRequestsHandler {
  private readonly logger = new Logger(ManagedRequestsHandler.name);

  constructor(
    @Inject(ManagedClusterRepository) private readonly clusters: ManagedClusterRepository,
    @Inject(ConnectedClusterRepository) private readonly connected: ConnectedClusterRepository,
    @Inject(SecretCredentialStore) private readonly credentials: SecretCredentialStore,
    @Inject(ONBOARDING_POLICY) private readonly policy: OnboardingPolicySource,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  /**
   * A public-cloud cluster request (the provisioner answers the other models): every problem at
   * once (ClusterProvisioningFailed, reasons naming fields), or recorded for the reconciler.
   */
  // By subject: a fleet requested at once is recorded side by side, each request touching its own cluster's rows.
  @OnEvent(ClusterRequested, { concurrency: 'by-subject' })
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    if (event.data.model !== 'public-cloud') return;
    const existing = await this.clusters.findForUpdate(event.subject);
    if (existing !== undefined) {
      if (existing.requestEventId === event.id) return;
      throw new PermanentError(`cluster ${event.subject} exists already (${existing.phase})`, 'cluster-exists');
    }
    if (isActive(await this.connected.find(event.subject))) throw new PermanentError(`cluster ${event.subject} is a connected cluster already`, 'cluster-exists');
    const policy = this.policy.current();
    const credential = event.data.cloud === undefined ? undefined : await this.credentials.describe(event.data.cloud.credentialRef);
    const decision = decideClusterRequest(event.subject, event.data, credential, policy);
    if (decision.kind === 'refused') {
      this.unitOfWork.emit(ClusterProvisioningFailed, event.subject, { model: 'public-cloud', reasons: decision.reasons, release: policy.release, policyRevision: decision.policyRevision });
      this.logger.log({ msg: 'public cloud cluster refused', clusterId: event.subject, reasons: decision.reasons.map((reason) => reason.code) });
      return;
    }
    const cluster = newManagedCluster(event.subject, event.data.name, decision.desired, event.id, { release: policy.release, policyRevision: decision.policyRevision }, this.clock.now());
    await this.clusters.save(cluster);
    this.unitOfWork.emit(ClusterProgress, event.subject, progressData(cluster, null, event.id));
    this.logger.log({ msg: 'public cloud cluster requested', clusterId: event.subject, provider: cluster.provider, cloudName: cluster.cloudName });
  }

  /** Scales a node group of a managed cluster; a platform-managed cluster's request is the provisioner's. */
  @OnEvent(NodePoolScaleRequested)
  async onScaleRequested(@Payload() event: EventOf<typeof NodePoolScaleRequested>): Promise<void> {
    const cluster = await this.clusters.findForUpdate(event.subject);
    if (cluster === undefined) return;
    const outcome = decideScale(cluster, event.data.pool, event.data.count, event.id, this.clock.now());
    await this.apply(event.subject, outcome, (reasons) => {
      // Nothing answers a refused scale but the cluster's progress, with the reasons logged.
      this.logger.log({ msg: 'scale of a public cloud cluster refused', clusterId: event.subject, reasons: reasons.map((reason) => reason.code) });
      this.unitOfWork.emit(ClusterProgress, event.subject, progressData(cluster, null, event.id));
    });
  }

  /** One approved upgrade step of a managed cluster: control plane, then each node group. */
  @OnEvent(UpgradeStepApproved)
  async onUpgradeStepApproved(@Payload() event: EventOf<typeof UpgradeStepApproved>): Promise<void> {
    const cluster = await this.clusters.findForUpdate(event.subject);
    if (cluster === undefined) return;
    const policy = this.policy.current();
    const outcome = decideUpgrade(cluster, event.data.planId, event.data.toVersion, event.id, policy, this.clock.now());
    await this.apply(event.subject, outcome, (reasons) => {
      const fromVersion = minorOf(cluster.observedVersion) ?? cluster.spec.kubernetesVersion;
      this.unitOfWork.emit(UpgradeStepFailed, event.subject, { model: 'public-cloud', planId: event.data.planId, fromVersion, toVersion: event.data.toVersion, reasons, policyRevision: policy.matrix.revision });
    });
  }

  private async apply(clusterId: string, outcome: RequestOutcome, answer: (reasons: Reason[]) => void): Promise<void> {
    switch (outcome.kind) {
      case 'none':
        return;
      case 'reject':
        throw new PermanentError(outcome.message, outcome.code);
      case 'answer':
        answer(outcome.reasons);
        return;
      case 'work': {
        await this.clusters.save(outcome.cluster);
        this.unitOfWork.emit(ClusterProgress, clusterId, progressData(outcome.cluster, null, outcome.cluster.requestEventId));
        this.logger.log({ msg: 'public cloud cluster work taken up', clusterId, work: outcome.cluster.work?.kind });
        return;
      }
    }
  }
}
