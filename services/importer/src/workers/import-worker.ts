import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ClusterImported, ClusterUnreachable, ImportRejected } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { CLUSTER_PROBE, type ClusterProbe, type ProbeTarget } from '../connectivity/cluster-probe.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import {
  abandonCheck,
  awaitTunnel,
  beginCheck,
  decideCheckOutcome,
  evolve,
  type CheckOutcome,
  type ConnectedCluster,
  type OnboardingPolicy,
} from '../domain/connected-cluster.js';
import { importReason } from '../domain/reasons.js';
import { decideTunnelCheckEnd, reachedThroughTunnel, tunnelDownReason } from '../domain/tunnel-cluster.js';
import type { TunnelLink } from '../domain/tunnel-link.js';
import { ClusterTunnelRepository } from '../repositories/cluster-tunnel.repository.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';

export interface ImportWorkerSettings {
  pollIntervalMs: number;
  concurrency: number;
  probeTimeoutMs: number;
  /** A check older than this is presumed abandoned (its replica died) and taken over. */
  checkLeaseMs: number;
  /** An imported cluster's first periodic re-check is due this long after the import. */
  firstSyncAfterMs: number;
  /** A check the tunnel (or the tunnel broker) could not carry is tried again after this long. */
  tunnelRetryMs: number;
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
 * (ClusterImported or ImportRejected) in one transaction with the state change. A cluster
 * registered through the tunnel is claimed only while its tunnel is up, and checked through it.
 */
@Injectable()
export class ImportWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ImportWorker.name);
  private readonly task: PeriodicTask;

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(ClusterTunnelRepository) private readonly tunnels: ClusterTunnelRepository,
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
    // A look first, outside any transaction: most rounds find nothing to claim.
    const at = this.clock.now();
    if (!(await this.clusters.hasPending(new Date(at.getTime() - this.settings.checkLeaseMs), at))) return 0;
    const claimed = await this.unitOfWork.run(async () => {
      const now = this.clock.now();
      const pending = await this.clusters.claimPending(this.settings.concurrency, new Date(now.getTime() - this.settings.checkLeaseMs), now);
      const checking = pending.map((cluster) => beginCheck(cluster, now));
      for (const cluster of checking) await this.clusters.save(cluster);
      return checking;
    });
    await Promise.all(claimed.map((cluster) => this.check(cluster, signal)));
    return claimed.length;
  }

  private async check(cluster: ConnectedCluster, stopping: AbortSignal): Promise<void> {
    const viaTunnel = reachedThroughTunnel(cluster);
    // A cluster reached through its tunnel has no credential of its own here: the importer's identity is used.
    const credential = viaTunnel ? null : await this.credentials.find(cluster.credentialRef);
    const target: ProbeTarget | undefined =
      credential === null
        ? { via: 'tunnel', clusterId: cluster.id, provider: 'cncf', apiServer: null, cloud: null }
        : credential && { clusterId: cluster.id, provider: cluster.provider, apiServer: cluster.apiServer, cloud: cluster.cloud, credential };
    const outcome = target ? await this.runProbe(cluster, target, stopping) : undefined;
    if (stopping.aborted) {
      await this.finish(cluster, viaTunnel, (current) => ({ next: abandonCheck(current) }));
      return;
    }
    await this.finish(cluster, viaTunnel, (current, tunnel) => {
      if (credential === undefined || !outcome) {
        // Removed between the request and the check.
        const reasons = [importReason('credential-not-found', `credentialRef "${current.credentialRef}" names no credential held by the importer`, 'credentialRef')];
        return { next: evolve(current, this.unitOfWork.emit(ImportRejected, current.id, { name: current.name, reasons })) ?? current };
      }
      const end = viaTunnel ? decideTunnelCheckEnd(outcome, tunnel) : ({ kind: 'record' } as const);
      if (end.kind === 'wait') {
        this.logger.log({ msg: 'check through the tunnel not carried: the cluster waits for its tunnel', clusterId: current.id, reasons: end.reasons.map((reason) => reason.code) });
        // Down: claimed again when its TunnelConnected comes. Up (the broker did not carry it): tried again a little later.
        const notBefore = tunnel?.state === 'connected' ? new Date(this.clock.now().getTime() + this.settings.tunnelRetryMs) : null;
        return { next: awaitTunnel(current, end.reasons), notBefore };
      }
      const decision = decideCheckOutcome(current, outcome, credential, this.policy.current());
      const event = decision.kind === 'imported' ? this.unitOfWork.emit(ClusterImported, current.id, decision.data) : this.unitOfWork.emit(ImportRejected, current.id, decision.data);
      let next = evolve(current, event) ?? current;
      if (end.kind === 'record-then-down' && next.state === 'Imported') {
        // It answered through the tunnel, which went down since: reachable no longer.
        next = evolve(next, this.unitOfWork.emit(ClusterUnreachable, current.id, { reason: tunnelDownReason(tunnel, current.name), since: tunnel?.since ?? this.clock.now().toISOString() })) ?? next;
      }
      return { next };
    });
  }

  /**
   * Applies a change if the cluster is still on the claimed check: a newer request or a deletion
   * wins. For a cluster reached through its tunnel, the tunnel is read under its lock, taken before
   * the cluster's as its events take them: a tunnel change and this result apply one after the other.
   */
  private async finish(
    claimed: ConnectedCluster,
    viaTunnel: boolean,
    change: (current: ConnectedCluster, tunnel: TunnelLink | undefined) => { next: ConnectedCluster; notBefore?: Date | null },
  ): Promise<void> {
    await this.unitOfWork.run(async () => {
      const tunnel = viaTunnel ? await this.tunnels.findForUpdate(claimed.id) : undefined;
      const current = await this.clusters.findForUpdate(claimed.id);
      if (!current || current.deletedAt !== null || current.state !== 'Checking' || current.attempt !== claimed.attempt || current.checkStartedAt !== claimed.checkStartedAt) {
        this.logger.log({ msg: 'check result dropped: the cluster changed meanwhile', clusterId: claimed.id, attempt: claimed.attempt });
        return;
      }
      const { next, notBefore } = change(current, tunnel);
      await this.clusters.save(next);
      if (next.state === 'Imported' || next.state === 'Unreachable') await this.clusters.scheduleSync(next.id, new Date(this.clock.now().getTime() + this.settings.firstSyncAfterMs));
      if (viaTunnel) await this.clusters.deferCheck(next.id, notBefore ?? null);
    });
  }

  /** The probe, bounded by the timeout and by shutdown; a probe that throws is a failed check. */
  private async runProbe(cluster: ConnectedCluster, target: ProbeTarget, stopping: AbortSignal): Promise<CheckOutcome> {
    const timeout = AbortSignal.timeout(this.settings.probeTimeoutMs);
    const signal = AbortSignal.any([timeout, stopping]);
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
    const where = target.via === 'tunnel' ? `${cluster.id} through its tunnel` : (cluster.apiServer ?? cluster.provider);
    return { ok: false, failures: [{ code: 'probe-timeout', message: `no answer from ${where} within ${this.settings.probeTimeoutMs} ms` }] };
  }
}
