import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ClusterDeleted, ClusterProgress, ClusterProvisioningFailed, ClusterReady, ClusterUpgraded, NodePoolScaled, UpgradeStepFailed, type Reason } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { CloudError, isTransientCloudError } from '../clouds/errors.js';
import type { CloudOperationStatus, CloudTarget, ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { connectedRecordOf } from './connected-record.js';
import { LifecycleUnavailableError, type AccountLifecycle, type CloudLifecycles } from './lifecycles.js';
import { ManagedClusterRepository, type ManagedClaim } from './managed-cluster.repository.js';
import { requestTokenFor, targetOf, type ManagedCluster } from './managed-cluster.js';
import { decideNextStep, stepKey, type Step } from './next-step.js';
import { settleDone, settleFailed, settleStarted, settleThrottled, settleTransient, settleWait, type ManagedEvent, type ReconcilePolicy, type Settled } from './outcome.js';
import { closeGate, gateOpen, heldUntil } from './throttle.js';

export interface ManagedReconcilerSettings extends ReconcilePolicy {
  /** How often the idle reconciler looks for clusters with work due. */
  roundIntervalMs: number;
  /** Clusters one replica takes per round, worked on side by side. */
  concurrency: number;
  /** A claim outlives one step's calls: a replica that dies leaves the cluster to another after this. */
  leaseMs: number;
  /** The calls of one step together give up after this long (a transient failure). */
  stepTimeoutMs: number;
  /** A throttled answer without Retry-After closes the account's gate this long. */
  throttleFallbackMs: number;
  /** An imported cluster's first periodic re-check is due this long after ClusterReady. */
  firstSyncAfterMs: number;
}

export const MANAGED_RECONCILER_SETTINGS = Symbol('ManagedReconcilerSettings');
export const CLOUD_LIFECYCLES = Symbol('CloudLifecycles');

const reason = (code: string, message: string, field?: string): Reason => (field === undefined ? { code, message } : { code, message, field });

/**
 * Drives managed cloud clusters one step at a time, outside any event handler (the clouds are
 * slow): claims clusters with work due (FOR UPDATE SKIP LOCKED, a lease), observes what the cloud
 * has with no transaction open, decides the next step (`decideNextStep`), starts it, and records
 * the outcome with its events in one transaction, under the claim. A step is never remembered as
 * done: the next one observes again, so a crash anywhere resumes from what the cloud has.
 */
@Injectable()
export class ManagedReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ManagedReconciler.name);
  private readonly task: PeriodicTask;

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(ManagedClusterRepository) private readonly clusters: ManagedClusterRepository,
    @Inject(ConnectedClusterRepository) private readonly connected: ConnectedClusterRepository,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(CLOUD_LIFECYCLES) private readonly lifecycles: CloudLifecycles,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(MANAGED_RECONCILER_SETTINGS) private readonly settings: ManagedReconcilerSettings,
  ) {
    this.task = new PeriodicTask('managed cloud clusters', settings.roundIntervalMs, (signal) => this.round(signal), this.logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** One round: claim up to `concurrency` clusters with work due and take one step for each. */
  async round(signal: AbortSignal): Promise<number> {
    const claims = await this.clusters.claimDue(this.settings.concurrency, this.clock.now(), this.settings.leaseMs);
    await Promise.all(claims.map((claim) => this.reconcile(claim, signal)));
    return claims.length;
  }

  private async reconcile({ cluster, claimId }: ManagedClaim, stopping: AbortSignal): Promise<void> {
    const now = this.clock.now();
    // One gate per account for the whole service: a cloud that throttled one replica is left alone by all.
    const gate = gateOpen(await this.clusters.gate(cluster.provider, cluster.credentialRef), now);
    if (!gate.open) {
      await this.clusters.release(cluster.id, claimId, heldUntil(gate.at, now, cluster.id));
      return;
    }
    const opened = await this.openAccount(cluster);
    if ('reasons' in opened) {
      await this.record(cluster, claimId, settleFailed(cluster, opened.reasons, null, now), null);
      return;
    }
    const signal = AbortSignal.any([stopping, AbortSignal.timeout(this.settings.stepTimeoutMs)]);
    let groups: ObservedCloudNodeGroup[] | null = null;
    let settled: Settled;
    try {
      const target = targetOf(cluster);
      const operation = cluster.operation === null ? undefined : await opened.cloud.operationStatus(target, cluster.operation, signal);
      const observed = await opened.cloud.findCluster(target, signal);
      groups = observed === null ? [] : await opened.cloud.listNodeGroups(target, signal);
      const step = decideNextStep(cluster, operation === undefined ? { cluster: observed, nodeGroups: groups } : { operation, cluster: observed, nodeGroups: groups });
      settled = await this.take(cluster, step, opened.cloud, target, groups, operation, signal);
    } catch (error) {
      if (stopping.aborted) {
        // Shutting down: the next replica (or this one, restarted) observes and goes on.
        await this.clusters.release(cluster.id, claimId, this.clock.now());
        return;
      }
      settled = await this.failure(cluster, error, groups);
    }
    await this.record(cluster, claimId, settled, groups);
  }

  private async openAccount(cluster: ManagedCluster): Promise<{ cloud: AccountLifecycle } | { reasons: Reason[] }> {
    const material = await this.credentials.open(cluster.credentialRef);
    if (material === undefined) {
      return { reasons: [reason('credential-not-found', `credentialRef "${cluster.credentialRef}" names no credential held by the importer`, 'cloud.credentialRef')] };
    }
    if (material.kind !== 'cloud-account' || material.provider !== cluster.provider) {
      return { reasons: [reason('credential-kind-mismatch', `credential "${cluster.credentialRef}" is not a ${cluster.provider} cloud account`, 'cloud.credentialRef')] };
    }
    try {
      return { cloud: this.lifecycles.open(cluster.provider, material.account) };
    } catch (error) {
      if (error instanceof CloudError) return { reasons: [reason(error.code, error.message, 'cloud.credentialRef')] };
      if (error instanceof LifecycleUnavailableError) return { reasons: [reason('cloud-provider-unavailable', error.message, 'cloud.provider')] };
      throw error;
    }
  }

  /** Does the step decided: starts cloud work and keeps its handle, or settles the work. */
  private async take(
    cluster: ManagedCluster,
    step: Step,
    cloud: AccountLifecycle,
    target: CloudTarget,
    groups: ObservedCloudNodeGroup[],
    operation: CloudOperationStatus | undefined,
    signal: AbortSignal,
  ): Promise<Settled> {
    const now = this.clock.now();
    const key = stepKey(step);
    const token = requestTokenFor(cluster.id, cluster.generation, key);
    const started = (handle: string | null) => settleStarted(cluster, key, handle, groups, now, this.settings);
    switch (step.kind) {
      case 'wait':
        return settleWait(cluster, operation?.done === true, now, this.settings);
      case 'done':
        return settleDone(cluster, step, groups, now);
      case 'fail':
        return settleFailed(cluster, step.reasons, groups, now);
      case 'check-version': {
        const offered = await cloud.offeredVersions(cluster.place, signal);
        if (offered.includes(cluster.spec.kubernetesVersion)) return settleWait({ ...cluster, versionOffered: true }, false, now, this.settings, true);
        const where = 'region' in cluster.place ? cluster.place.region : cluster.place.location;
        const message = `${cluster.provider} offers ${offered.length === 0 ? 'no version' : offered.join(', ')} in ${where}, not ${cluster.spec.kubernetesVersion}`;
        return settleFailed(cluster, [reason('cloud-version-not-offered', message, 'kubernetesVersion')], groups, now);
      }
      case 'create-cluster':
        return started(await cloud.createCluster(target, cluster.spec, token, signal));
      case 'create-node-group':
        return started(await cloud.createNodeGroup(target, cluster.spec, step.group, token, signal));
      case 'scale-node-group':
        return started(await cloud.scaleNodeGroup(target, step.name, step.size, token, signal));
      case 'upgrade-cluster':
        return started(await cloud.upgradeCluster(target, step.version, token, signal));
      case 'upgrade-node-group':
        return started(await cloud.upgradeNodeGroup(target, step.name, step.version, token, signal));
      case 'delete-node-group':
        return started(await cloud.deleteNodeGroup(target, step.name, signal));
      case 'delete-cluster':
        return started(await cloud.deleteCluster(target, signal));
    }
  }

  /**
   * A call that failed. Throttled: the account's gate closes for the cloud's Retry-After (every
   * replica honours it) and the cluster waits at least that long (with backoff), never given up for it.
   * Other transient failures retry with backoff, up to MAX_TRANSIENT_FAILURES in a row; permanent
   * ones (quota, version not offered, name taken, access, a request refused) end the work.
   */
  private async failure(cluster: ManagedCluster, error: unknown, groups: ObservedCloudNodeGroup[] | null): Promise<Settled> {
    const now = this.clock.now();
    if (!(error instanceof CloudError)) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger.warn({ msg: 'managed cluster step failed unexpectedly: retried', clusterId: cluster.id, error: message });
      return settleTransient(cluster, reason('cloud-failed', message), groups, now, this.settings);
    }
    const why = reason(error.code, error.message, error.field);
    if (!isTransientCloudError(error.code)) return settleFailed(cluster, [why], groups, now);
    if (error.code === 'cloud-throttled') {
      const current = await this.clusters.gate(cluster.provider, cluster.credentialRef);
      const notBefore = closeGate(current, now, error.retryAfterMs, this.settings.throttleFallbackMs);
      await this.clusters.closeGate(cluster.provider, cluster.credentialRef, notBefore);
      this.logger.log({ msg: 'cloud throttled: account gate closed', provider: cluster.provider, credentialRef: cluster.credentialRef, notBefore: notBefore.toISOString() });
      return settleThrottled(cluster, why, heldUntil(notBefore, now, cluster.id), now, this.settings);
    }
    return settleTransient(cluster, why, groups, now, this.settings);
  }

  /** Records the step under its claim, with its events: a claim taken over (lease ran out) records nothing. */
  private async record(claimed: ManagedCluster, claimId: string, settled: Settled, groups: ObservedCloudNodeGroup[] | null): Promise<void> {
    await this.unitOfWork.run(async () => {
      const current = await this.clusters.findForUpdate(claimed.id);
      if (current === undefined || (await this.clusters.claimOf(claimed.id)) !== claimId || current.generation !== claimed.generation) {
        this.logger.log({ msg: 'step result dropped: the cluster changed meanwhile', clusterId: claimed.id });
        return;
      }
      await this.clusters.save(settled.next);
      if (groups !== null) await this.clusters.recordObservedGroups(claimed.id, groups);
      for (const event of settled.events) await this.emit(settled.next, event);
      if (settled.next.step !== claimed.step || settled.next.work === null) {
        this.logger.log({ msg: 'managed cluster step', clusterId: claimed.id, phase: settled.next.phase, step: settled.next.step, work: settled.next.work?.kind ?? null, reasons: settled.next.reasons.map((r) => r.code) });
      }
    });
  }

  private async emit(cluster: ManagedCluster, event: ManagedEvent): Promise<void> {
    switch (event.type) {
      case 'ClusterProgress':
        this.unitOfWork.emit(ClusterProgress, cluster.id, event.data);
        return;
      case 'ClusterReady': {
        this.unitOfWork.emit(ClusterReady, cluster.id, event.data);
        // From now on the cluster is re-checked like an import, through the same cloud account.
        const now = this.clock.now();
        await this.connected.save(connectedRecordOf(cluster, { version: event.data.kubernetesVersion, nodeCount: event.data.nodeCount }, now));
        await this.connected.scheduleSync(cluster.id, new Date(now.getTime() + this.settings.firstSyncAfterMs));
        return;
      }
      case 'ClusterProvisioningFailed':
        this.unitOfWork.emit(ClusterProvisioningFailed, cluster.id, event.data);
        return;
      case 'NodePoolScaled':
        this.unitOfWork.emit(NodePoolScaled, cluster.id, event.data);
        return;
      case 'ClusterUpgraded':
        this.unitOfWork.emit(ClusterUpgraded, cluster.id, event.data);
        return;
      case 'UpgradeStepFailed':
        this.unitOfWork.emit(UpgradeStepFailed, cluster.id, event.data);
        return;
      case 'ClusterDeleted':
        // The importer consumes its own ClusterDeleted too: the connected record is tombstoned then.
        this.unitOfWork.emit(ClusterDeleted, cluster.id, event.data);
        return;
    }
  }
}
