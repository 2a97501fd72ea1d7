import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ClusterReachable, ClusterUnreachable, ClusterVersionChanged, type CloudEvent } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { CLUSTER_PROBE, type ClusterProbe, type ProbeTarget } from '../connectivity/cluster-probe.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { decideSync, type SyncEvent, type SyncOutcome, type SyncPolicy } from '../domain/cluster-sync.js';
import { evolve, type ConnectedCluster } from '../domain/connected-cluster.js';
import { reachedThroughTunnel } from '../domain/tunnel-cluster.js';
import type { TunnelLink } from '../domain/tunnel-link.js';
import { ClusterTunnelRepository } from '../repositories/cluster-tunnel.repository.js';
import { ConnectedClusterRepository, type SyncClaim } from '../repositories/connected-cluster.repository.js';

export interface SyncWorkerSettings extends SyncPolicy {
  /** Re-checks one replica runs at once. */
  concurrency: number;
  /** A re-check with no answer by then counts as a failure (probe-timeout). */
  checkTimeoutMs: number;
  /** A claimed re-check not recorded by then is taken again (its replica died). */
  leaseMs: number;
  /** How often the idle worker looks for clusters due. */
  pollIntervalMs: number;
}

export const SYNC_WORKER_SETTINGS = Symbol('SyncWorkerSettings');

/**
 * Keeps connected clusters current: re-reads every managed cluster's version and health on a
 * schedule, `concurrency` at a time, with no transaction open during the network calls. Replicas
 * share the work through claims (SKIP LOCKED, with a lease). Emits ClusterVersionChanged,
 * ClusterUnreachable and ClusterReachable on changes only; failing clusters back off.
 */
@Injectable()
export class SyncWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SyncWorker.name);
  private readonly task: PeriodicTask;

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(ConnectedClusterRepository) private readonly clusters: ConnectedClusterRepository,
    @Inject(ClusterTunnelRepository) private readonly tunnels: ClusterTunnelRepository,
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(CLUSTER_PROBE) private readonly probe: ClusterProbe,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(SYNC_WORKER_SETTINGS) private readonly settings: SyncWorkerSettings,
  ) {
    this.task = new PeriodicTask('sync worker', settings.pollIntervalMs, (signal) => this.round(signal), this.logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /**
   * Re-checks every cluster due now, keeping `concurrency` checks in flight (a slow cluster holds
   * one slot, not a whole batch). Claims in chunks as slots free up. Returns how many it checked.
   */
  async round(signal: AbortSignal): Promise<number> {
    const { concurrency } = this.settings;
    const inFlight = new Set<Promise<void>>();
    const chunk = Math.max(1, Math.ceil(concurrency / 4));
    let handled = 0;
    let exhausted = false;
    try {
      while (!signal.aborted) {
        const free = concurrency - inFlight.size;
        if (!exhausted && (free >= chunk || inFlight.size === 0)) {
          const claims = await this.clusters.claimDueForSync(free, this.clock.now(), this.settings.leaseMs);
          exhausted = claims.length < free;
          for (const claim of claims) {
            const check: Promise<void> = this.sync(claim, signal)
              .catch((error: unknown) => this.logger.warn({ msg: 're-check could not be recorded; it is retried when its lease ends', clusterId: claim.cluster.id, error: error instanceof Error ? error.message : String(error) }))
              .finally(() => inFlight.delete(check));
            inFlight.add(check);
          }
          handled += claims.length;
        }
        if (inFlight.size === 0) break;
        await Promise.race(inFlight);
      }
    } finally {
      await Promise.all(inFlight);
    }
    return handled;
  }

  private async sync(claim: SyncClaim, stopping: AbortSignal): Promise<void> {
    const { cluster } = claim;
    // A cluster registered through the tunnel is re-checked through it (claimed only while it is up), as the importer itself.
    const viaTunnel = reachedThroughTunnel(cluster);
    const credential = viaTunnel ? null : await this.credentials.find(cluster.credentialRef);
    const target: ProbeTarget | undefined =
      credential === null
        ? { via: 'tunnel', clusterId: cluster.id, provider: 'cncf', apiServer: null, cloud: null }
        : credential && { clusterId: cluster.id, provider: cluster.provider, apiServer: cluster.apiServer, cloud: cluster.cloud, credential };
    const outcome: SyncOutcome = target
      ? await this.check(target, stopping)
      : { ok: false, failures: [{ code: 'credential-not-found', message: `credentialRef "${cluster.credentialRef}" names no credential held by the importer (deleted?)` }] };
    if (stopping.aborted) {
      await this.clusters.releaseSync(cluster.id, claim.claimedAt);
      return;
    }
    await this.unitOfWork.run(async () => {
      // The tunnel's lock, then the cluster's, as its events take them. A check answered through a
      // tunnel that is down now says nothing of the cluster, and must not undo the Unreachable its
      // TunnelDisconnected recorded: given back, it is checked again once the tunnel is up.
      if (viaTunnel && !isUp(await this.tunnels.findForUpdate(cluster.id))) {
        await this.clusters.releaseSync(cluster.id, claim.claimedAt);
        return;
      }
      const current = await this.clusters.findForUpdate(cluster.id);
      const state = await this.clusters.syncOf(cluster.id);
      if (!current || !state || current.deletedAt !== null || (current.state !== 'Imported' && current.state !== 'Unreachable') || state.claimedAt?.getTime() !== claim.claimedAt.getTime()) {
        return; // deleted, re-imported or taken over meanwhile: this result is stale
      }
      const now = this.clock.now();
      const decision = decideSync(current, state.sync, outcome, now, this.settings);
      let next = current;
      for (const event of decision.events) next = evolve(next, this.emit(current, event)) ?? next;
      if (next !== current) await this.clusters.save(next);
      await this.clusters.recordSync(cluster.id, decision.sync, decision.nextSyncAt, now);
      if (decision.events.length > 0) this.logger.log({ msg: 'connected cluster changed', clusterId: cluster.id, events: decision.events.map((event) => event.type) });
    });
  }

  private emit(cluster: ConnectedCluster, event: SyncEvent): CloudEvent {
    switch (event.type) {
      case 'ClusterVersionChanged':
        return this.unitOfWork.emit(ClusterVersionChanged, cluster.id, event.data);
      case 'ClusterUnreachable':
        return this.unitOfWork.emit(ClusterUnreachable, cluster.id, event.data);
      case 'ClusterReachable':
        return this.unitOfWork.emit(ClusterReachable, cluster.id, event.data);
    }
  }

  /** The health check, bounded by the per-cluster timeout and by shutdown; a probe that throws is a failed check. */
  private async check(target: ProbeTarget, stopping: AbortSignal): Promise<SyncOutcome> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.settings.checkTimeoutMs), stopping]);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const result = await Promise.race([this.probe.health(target, signal), aborted]);
      if (result !== 'aborted') return result;
    } catch (error) {
      if (!signal.aborted) return { ok: false, failures: [{ code: 'probe-failed', message: error instanceof Error ? error.message : String(error) }] };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
    const where = target.via === 'tunnel' ? `${target.clusterId} through its tunnel` : (target.apiServer ?? target.provider);
    return { ok: false, failures: [{ code: 'probe-timeout', message: `no answer from ${where} within ${this.settings.checkTimeoutMs} ms` }] };
  }
}

function isUp(tunnel: TunnelLink | undefined): boolean {
  return tunnel?.state === 'connected';
}
