import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ClusterImported, ImportRejected } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { CLUSTER_PROBE, type ClusterProbe } from '../connectivity/cluster-probe.js';
import { CREDENTIAL_STORE, type CredentialStore, type StoredCredential } from '../credentials/credential-store.js';
import {
  abandonCheck,
  beginCheck,
  decideCheckOutcome,
  evolve,
  type CheckOutcome,
  type ConnectedCluster,
  type OnboardingPolicy,
} from '../domain/connected-cluster.js';
import { importReason } from '../domain/reasons.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';

export interface ImportWorkerSettings {
  pollIntervalMs: number;
  concurrency: number;
  probeTimeoutMs: number;
  /** A check older than this is presumed abandoned (its replica died) and taken over. */
  checkLeaseMs: number;
  /** An imported cluster's first periodic re-check is due this long after the import. */
  firstSyncAfterMs: number;
}

export const IMPORT_WORKER_SETTINGS = Symbol('ImportWorkerSettings');
export const ONBOARDING_POLICY = Symbol('OnboardingPolicy');

/** The onboarding policy in force at the moment of a decision (it follows the support-matrix bucket). */
export interface OnboardingPolicySource {
  current(): OnboardingPolicy;
}

/**
 * Runs connectivity checks outside any event handler (they are slow network I/O): claims
 * Requested clusters (Checking), probes each with no transaction open, then records the outcome
 * (ClusterImported or ImportRejected) in one transaction with the state change.
 */
@Injectable()
export class ImportWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ImportWorker.name);
  private readonly task: PeriodicTask;

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(CLUSTER_PROBE) private readonly probe: ClusterProbe,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(ONBOARDING_POLICY) private readonly policy: OnboardingPolicySource,
    @Inject(IMPORT_WORKER_SETTINGS) private readonly settings: ImportWorkerSettings,
  ) {
    this.task = new PeriodicTask('import worker', settings.pollIntervalMs, (signal) => this.round(signal), this.logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** One round: claim up to `concurrency` clusters and check them side by side. */
  async round(signal: AbortSignal): Promise<number> {
    const claimed = await this.unitOfWork.run(async () => {
      const now = this.clock.now();
      const pending = await this.clusters.claimPending(this.settings.concurrency, new Date(now.getTime() - this.settings.checkLeaseMs));
      const checking = pending.map((cluster) => beginCheck(cluster, now));
      for (const cluster of checking) await this.clusters.save(cluster);
      return checking;
    });
    await Promise.all(claimed.map((cluster) => this.check(cluster, signal)));
    return claimed.length;
  }

  private async check(cluster: ConnectedCluster, stopping: AbortSignal): Promise<void> {
    const credential = await this.credentials.find(cluster.credentialRef);
    const outcome = credential ? await this.runProbe(cluster, credential, stopping) : undefined;
    if (stopping.aborted) {
      await this.finish(cluster, abandonCheck);
      return;
    }
    await this.finish(cluster, (current) => {
      if (!credential || !outcome) {
        // Removed between the request and the check.
        const reasons = [importReason('credential-not-found', `credentialRef "${current.credentialRef}" names no credential held by the importer`, 'credentialRef')];
        return evolve(current, this.unitOfWork.emit(ImportRejected, current.id, { name: current.name, reasons })) ?? current;
      }
      const decision = decideCheckOutcome(current, outcome, credential, this.policy.current());
      const event = decision.kind === 'imported' ? this.unitOfWork.emit(ClusterImported, current.id, decision.data) : this.unitOfWork.emit(ImportRejected, current.id, decision.data);
      return evolve(current, event) ?? current;
    });
  }

  /** Applies a change if the cluster is still on the claimed check: a newer request or a deletion wins. */
  private async finish(claimed: ConnectedCluster, change: (current: ConnectedCluster) => ConnectedCluster): Promise<void> {
    await this.unitOfWork.run(async () => {
      const current = await this.clusters.findForUpdate(claimed.id);
      if (!current || current.deletedAt !== null || current.state !== 'Checking' || current.attempt !== claimed.attempt || current.checkStartedAt !== claimed.checkStartedAt) {
        this.logger.log({ msg: 'check result dropped: the cluster changed meanwhile', clusterId: claimed.id, attempt: claimed.attempt });
        return;
      }
      const next = change(current);
      await this.clusters.save(next);
      if (next.state === 'Imported') await this.clusters.scheduleSync(next.id, new Date(this.clock.now().getTime() + this.settings.firstSyncAfterMs));
    });
  }


  /** The probe, bounded by the timeout and by shutdown; a probe that throws is a failed check. */
  private async runProbe(cluster: ConnectedCluster, credential: StoredCredential, stopping: AbortSignal): Promise<CheckOutcome> {
    const timeout = AbortSignal.timeout(this.settings.probeTimeoutMs);
    const signal = AbortSignal.any([timeout, stopping]);
    const target = { clusterId: cluster.id, provider: cluster.provider, apiServer: cluster.apiServer, cloud: cluster.cloud, credential };
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // Race as well as pass the signal: a probe that ignores it must not hold the worker.
      const result = await Promise.race([this.probe.probe(target, signal), aborted]);
      if (result !== 'aborted') return result;
    } catch (error) {
      if (!signal.aborted) {
        this.logger.warn({ msg: 'probe threw instead of reporting a failure', clusterId: cluster.id, error: error instanceof Error ? error.message : String(error) });
        return { ok: false, failures: [{ code: 'probe-failed', message: error instanceof Error ? error.message : String(error) }] };
      }
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
    return { ok: false, failures: [{ code: 'probe-timeout', message: `no answer from ${cluster.apiServer ?? cluster.provider} within ${this.settings.probeTimeoutMs} ms` }] };
  }
}
