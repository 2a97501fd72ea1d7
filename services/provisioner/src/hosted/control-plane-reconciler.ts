import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { describeError, UnitOfWork } from '@flotilla/messaging';
import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { PROVISIONER_CONFIG, type ProvisionerConfig } from '../config.js';
import { decideControlPlane, evolve, ProvisionerError, type ClusterState, type ControlPlaneObservation } from '../domain/cluster/index.js';
import { changesBetween } from '../reconciler/machine-writes.js';
import { ClusterRepository } from '../repositories/cluster.repository.js';
import { IntegrationEvents } from '../repositories/integration-events.js';
import { HostedControlPlaneQueue, type ClaimedControlPlane, type ControlPlaneWrite } from './control-plane-queue.js';
import { KubernetesApiError, ServerBindingError, type KubernetesClient } from './kubernetes-client.js';
import { ManagementClusterAccess, ManagementCredentialsError } from './management-credentials.js';
import {
  manifestSha256,
  namespaceHeader,
  namespaceObject,
  readinessOf,
  tenantControlPlaneHeader,
  tenantControlPlanesPath,
  type Readiness,
  type TenantControlPlaneObject,
} from './tenant-control-plane-status.js';

type Outcome = ControlPlaneWrite | { kind: 'gone' };

const MAX_BACKOFF_MS = 60_000;

/**
 * Makes each hosted control plane real in its management cluster: applies its namespace and
 * TenantControlPlane (server-side apply, field manager `flotilla`), watches it (the official
 * client's Watch, opened again when it ends or drops) until Kamaji reports it Ready, then records
 * its endpoint with the cluster so its workers can join; a refusal (4xx) or no readiness by the
 * deadline fails the cluster with a reason. A retired one (cluster deleted or failed) has its
 * object and namespace deleted, and its row (the capacity it holds) goes once they are gone.
 * Work is claimed in PostgreSQL (SKIP LOCKED, a lease), so replicas share it and a crash anywhere
 * leaves it to the next claimer; what was applied is recorded by its SHA-256.
 */
@Injectable()
export class HostedControlPlaneReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}/hosted`;
  private readonly logger = new Logger(HostedControlPlaneReconciler.name);
  private readonly task: PeriodicTask;
  private readonly inflight = new Map<string, Promise<void>>();
  private stopping = new AbortController();

  constructor(
    @Inject(HostedControlPlaneQueue) private readonly queue: HostedControlPlaneQueue,
    @Inject(ManagementClusterAccess) private readonly access: ManagementClusterAccess,
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(IntegrationEvents) private readonly integration: IntegrationEvents,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(PROVISIONER_CONFIG) private readonly config: ProvisionerConfig,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    this.task = new PeriodicTask('hosted control-plane reconciler', config.RECONCILE_IDLE_MS, () => this.claimDue(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.stopping = new AbortController();
    this.task.start();
  }

  /** Watches end, and every turn under way records where it got (due again at once) before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.task.stop();
    this.stopping.abort();
    await Promise.allSettled([...this.inflight.values()]);
  }

  /** Claims what is due, as far as there is room for more turns in flight, and starts them. */
  async claimDue(): Promise<number> {
    const room = this.config.PROVIDER_CONCURRENCY - this.inflight.size;
    const claimed = await this.queue.claim(this.owner, room, this.config.MACHINE_LEASE_MS, this.config.HOSTED_READY_TIMEOUT_MS, this.clock.now());
    for (const item of claimed) {
      const turn = this.turn(item).finally(() => this.inflight.delete(item.clusterId));
      this.inflight.set(item.clusterId, turn);
    }
    return claimed.length;
  }

  private async turn(item: ClaimedControlPlane): Promise<void> {
    try {
      const outcome = item.phase === 'deleting' ? await this.tearDown(item) : await this.bringUp(item);
      await this.record(item, outcome);
    } catch (error) {
      // The database, most likely: the claim runs out and the turn is taken again.
      this.logger.warn({ msg: 'hosted control-plane turn failed', clusterId: item.clusterId, error: describeError(error) });
    }
  }

  /** Apply (when not applied as it is), then read and watch until Ready, for at most one watch window. */
  private async bringUp(item: ClaimedControlPlane): Promise<Outcome> {
    const where = `TenantControlPlane ${item.namespace}/${item.clusterId} on management cluster "${item.managementCluster}"`;
    if (this.clock.now().getTime() >= item.deadline.getTime()) {
      const seconds = Math.round(this.config.HOSTED_READY_TIMEOUT_MS / 1000);
      return { kind: 'failed', code: 'control-plane-timeout', message: `${where} was not Ready within ${seconds} s (last status: ${item.observedStatus ?? 'none'}${item.lastError ? `; last error: ${item.lastError}` : ''})` };
    }
    const client = await this.open(item, where);
    if ('kind' in client) return client;
    const sha256 = manifestSha256(item.manifest);
    let applied = item.appliedSha256;
    try {
      let current: TenantControlPlaneObject | undefined;
      if (applied !== sha256) {
        await client.apply(namespaceObject(item.namespace, item.clusterId));
        current = await client.apply<TenantControlPlaneObject>(item.manifest);
        applied = sha256;
        this.logger.log({ msg: 'TenantControlPlane applied', clusterId: item.clusterId, managementCluster: item.managementCluster, namespace: item.namespace });
      } else {
        current = await client.read<TenantControlPlaneObject>(tenantControlPlaneHeader(item.namespace, item.clusterId));
      }
      // Deleted behind Flotilla's back: applied again on the next turn.
      if (!current) return { kind: 'waiting', appliedSha256: null, observedStatus: null, retryInMs: 0, errors: 0, lastError: `${where} was not found; applying it again` };
      const first = readinessOf(current);
      if (first.ready) return { kind: 'ready', appliedSha256: sha256, endpoint: first.endpoint };
      // What the watch saw last (a holder: the callback changes it).
      const seen: { latest: Readiness; deleted: boolean } = { latest: first, deleted: false };
      const windowMs = Math.min(this.config.HOSTED_WATCH_TIMEOUT_MS, this.config.MACHINE_LEASE_MS / 2, item.deadline.getTime() - this.clock.now().getTime());
      const watchedFrom = Date.now();
      const ended = await client.watch(
        tenantControlPlanesPath(item.namespace),
        { resourceVersion: current.metadata?.resourceVersion, fieldSelector: `metadata.name=${item.clusterId}`, timeoutSeconds: Math.max(1, Math.ceil(windowMs / 1000)) },
        (type, object) => {
          if (type === 'DELETED') seen.deleted = true;
          else if (type === 'ADDED' || type === 'MODIFIED') seen.latest = readinessOf(object);
          return seen.deleted || seen.latest.ready;
        },
        this.stopping.signal,
      );
      const { latest } = seen;
      if (latest.ready) return { kind: 'ready', appliedSha256: sha256, endpoint: latest.endpoint };
      if (seen.deleted) return { kind: 'waiting', appliedSha256: null, observedStatus: null, retryInMs: 0, errors: 0, lastError: `${where} was deleted; applying it again` };
      // The watch ended (its timeout, a drop, an expired resourceVersion, shutdown): read and watch again.
      // A watch that failed, or ended long before its window without shutdown asking, backs off:
      // a server closing watches at once must not turn this into a loop of reads.
      const cutShort = !this.stopping.signal.aborted && Date.now() - watchedFrom < windowMs / 2;
      const failure = ended ?? (cutShort ? new Error('closed by the server before its timeout') : undefined);
      const errors = failure ? item.errors + 1 : 0;
      return { kind: 'waiting', appliedSha256: applied, observedStatus: latest.status, retryInMs: failure ? this.backoff(errors) : 0, errors, lastError: failure ? `the watch of ${where} ended: ${failure.message}` : null };
    } catch (error) {
      if (error instanceof KubernetesApiError && error.refused) {
        return { kind: 'failed', code: 'control-plane-refused', message: `management cluster "${item.managementCluster}" refused ${where.split(' on ')[0]}: ${error.status} ${error.reason}: ${error.message}` };
      }
      const errors = item.errors + 1;
      this.logger.warn({ msg: 'management cluster call failed', clusterId: item.clusterId, managementCluster: item.managementCluster, errors, error: describeError(error) });
      return { kind: 'waiting', appliedSha256: applied, observedStatus: item.observedStatus, retryInMs: this.backoff(errors), errors, lastError: describeError(error) };
    } finally {
      client.close();
    }
  }

  /**
   * Deletes the TenantControlPlane, waits until it is gone (Kamaji's finalizer cleans up), then
   * the namespace when it is Flotilla's; the row goes last. A management cluster it cannot use
   * keeps it (and its room) until it can, unless nothing was ever applied there.
   */
  private async tearDown(item: ClaimedControlPlane): Promise<Outcome> {
    const where = `TenantControlPlane ${item.namespace}/${item.clusterId} on management cluster "${item.managementCluster}"`;
    const client = await this.open(item, where);
    if ('kind' in client) return item.appliedSha256 === null ? { kind: 'gone' } : { kind: 'deleting', retryInMs: this.backoff(item.errors + 1), errors: item.errors + 1, lastError: client.kind === 'failed' ? client.message : null };
    try {
      const header = tenantControlPlaneHeader(item.namespace, item.clusterId);
      if (await client.read(header)) {
        await client.delete(header);
        return { kind: 'deleting', retryInMs: this.config.MACHINE_POLL_MS, errors: 0, lastError: null };
      }
      const namespace = await client.read(namespaceHeader(item.namespace));
      if (namespace && namespace.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'flotilla') {
        if (!namespace.metadata.deletionTimestamp) await client.delete(namespaceHeader(item.namespace));
        return { kind: 'deleting', retryInMs: this.config.MACHINE_POLL_MS, errors: 0, lastError: null };
      }
      this.logger.log({ msg: 'TenantControlPlane deleted', clusterId: item.clusterId, managementCluster: item.managementCluster });
      return { kind: 'gone' };
    } catch (error) {
      const errors = item.errors + 1;
      return { kind: 'deleting', retryInMs: this.backoff(errors), errors, lastError: describeError(error) };
    } finally {
      client.close();
    }
  }

  /** A client for the item's management cluster, or why there is none (credentials missing or for another server). */
  private async open(item: ClaimedControlPlane, where: string): Promise<KubernetesClient | Extract<Outcome, { kind: 'failed' }>> {
    try {
      return await this.access.open(item.managementCluster, item.apiEndpoint, item.clusterId, where);
    } catch (error) {
      if (error instanceof ManagementCredentialsError || error instanceof ServerBindingError) return { kind: 'failed', code: 'management-cluster-unavailable', message: error.message };
      throw error;
    }
  }

  private backoff(errors: number): number {
    return Math.min(MAX_BACKOFF_MS, this.config.MACHINE_POLL_MS * 2 ** Math.max(0, errors - 1));
  }

  /** The turn's outcome, and for Ready or failed what it means for the cluster, in one transaction. */
  private async record(item: ClaimedControlPlane, outcome: Outcome): Promise<void> {
    await this.unitOfWork.run(async () => {
      const now = this.clock.now();
      if (outcome.kind === 'gone') return this.queue.remove(this.owner, item.clusterId);
      if (!(await this.queue.write(this.owner, item, outcome, now))) return;
      const observation: ControlPlaneObservation | undefined =
        outcome.kind === 'ready'
          ? { kind: 'ready', endpoint: outcome.endpoint }
          : outcome.kind === 'failed'
            ? { kind: 'failed', code: outcome.code as Extract<ControlPlaneObservation, { kind: 'failed' }>['code'], message: outcome.message }
            : undefined;
      if (!observation) return;
      this.logger.log({ msg: `hosted control plane ${observation.kind}`, clusterId: item.clusterId, ...(observation.kind === 'ready' ? { endpoint: observation.endpoint } : { code: observation.code, reason: observation.message }) });
      const before = await this.clusters.lockMany([item.clusterId]);
      const state = before.get(item.clusterId);
      if (!state) return;
      let events;
      try {
        events = decideControlPlane({ type: 'ObserveControlPlane', clusterId: item.clusterId, observation, at: now.toISOString() }, state);
      } catch (error) {
        if (!(error instanceof ProvisionerError)) throw error;
        this.logger.warn({ msg: 'control-plane observation does not fit the cluster; ignored', clusterId: item.clusterId, code: error.code, error: error.message });
        return;
      }
      if (events.length === 0) return;
      const after = events.reduce<ClusterState>(evolve, state);
      await this.clusters.saveChanges(changesBetween(before, new Map([[item.clusterId, after]]), now, this.config.MHC_CHECK_INTERVAL_MS));
      await this.integration.publish(events);
      this.integration.reportProgress(before, new Map([[item.clusterId, after]]));
    });
  }
}
