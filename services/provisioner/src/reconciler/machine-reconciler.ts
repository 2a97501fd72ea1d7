import { PeriodicTask } from '@flotilla/service-kit';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { describeError, UnitOfWork } from '@flotilla/messaging';
import { NODE_BOOTSTRAPPER, type NodeBootstrapper } from '../bootstrap/node-bootstrapper.js';
import { PROVISIONER_CONFIG, type ProvisionerConfig } from '../config.js';
import { decide, evolve, needsReconcile, ProvisionerError, type ClusterEvent, type ClusterState, type MachineObservation } from '../domain/cluster.js';
import { INFRASTRUCTURE_PROVIDER, type InfrastructureProvider, type ProviderMachine } from '../infrastructure/provider.js';
import { ClusterRepository, type MachineWrite } from '../repositories/cluster.repository.js';
import { IntegrationEvents } from '../repositories/integration-events.js';
import { MachineQueue, type ClaimedMachine } from '../repositories/machine-queue.repository.js';
import { mapWithConcurrency } from './concurrency.js';

/** What working on one machine showed, in order, plus the bookkeeping for its next turn. */
interface Outcome {
  observations: MachineObservation[];
  retryInMs: number;
  providerErrors: number;
  lastError: string | null;
}

const MIN_RETRY_MS = 10;
const MAX_BACKOFF_MS = 60_000;

/**
 * The machine controller. Each round claims a batch of due machines (SKIP LOCKED, so replicas
 * share the work), drives each one as far as it goes at the provider and the node bootstrap
 * (bounded concurrency, outside any transaction), then records every observation in ONE
 * transaction: state changes, the machines' next turn, and the bus events of clusters that
 * became Running or Failed. A crash at any point loses nothing: claims expire, and creating a
 * machine is idempotent by name, so the next claimer adopts what was made.
 */
@Injectable()
export class MachineReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Who holds a claim: unique per process, so a restarted process never mistakes old claims for its own. */
  readonly owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly logger = new Logger(MachineReconciler.name);
  private readonly task: PeriodicTask;
  private stopping = false;

  constructor(
    @Inject(MachineQueue) private readonly queue: MachineQueue,
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(IntegrationEvents) private readonly integration: IntegrationEvents,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(INFRASTRUCTURE_PROVIDER) private readonly provider: InfrastructureProvider,
    @Inject(NODE_BOOTSTRAPPER) private readonly bootstrapper: NodeBootstrapper,
    @Inject(PROVISIONER_CONFIG) private readonly config: ProvisionerConfig,
  ) {
    // A full round means more may be due right now: the task goes straight on while rounds claim work.
    this.task = new PeriodicTask('machine reconciler', config.RECONCILE_IDLE_MS, () => this.reconcileOnce(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.stopping = false;
    this.task.start();
  }

  /** Before the bus and the database close: the round in hand finishes and is recorded. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.task.stop();
  }

  /** One round; returns how many machines it claimed. */
  async reconcileOnce(): Promise<number> {
    const claimed = await this.queue.claim(this.owner, this.config.RECONCILE_BATCH_SIZE, this.config.MACHINE_LEASE_MS);
    if (claimed.length === 0) return 0;
    try {
      const outcomes = await mapWithConcurrency(claimed, this.config.PROVIDER_CONCURRENCY, (machine) => this.drive(machine), () => this.stopping);
      const worked = claimed.flatMap((machine, index) => {
        const outcome = outcomes[index];
        return outcome ? [{ machine, outcome }] : [];
      });
      await this.record(worked);
      // Stopping: what was never started goes back to the queue for whoever runs next.
      await this.queue.release(
        this.owner,
        claimed.filter((_, index) => outcomes[index] === undefined),
      );
    } catch (error) {
      // Recording failed (a deadlock, the database gone): retry soon rather than after the lease.
      await this.queue.release(this.owner, claimed).catch(() => undefined);
      throw error;
    }
    return claimed.length;
  }

  /** Takes one machine as far as it goes now: create or adopt, wait for it, join it as a node. */
  private async drive(machine: ClaimedMachine): Promise<Outcome> {
    const observations: MachineObservation[] = [];
    const outcome = (retryInMs: number): Outcome => ({ observations, retryInMs, providerErrors: 0, lastError: null });
    const ref = { clusterId: machine.clusterId, name: machine.name, providerId: machine.providerId };
    try {
      let infrastructure: ProviderMachine | undefined;
      switch (machine.phase) {
        case 'Pending':
          // Claimed before (a crash, an expired claim) or already known: the provider may have
          // it. Adopt it rather than asking for another.
          if (machine.claims > 1 || machine.providerId) infrastructure = await this.provider.getMachine(ref);
          if (infrastructure) this.logger.log({ msg: 'adopted existing machine', clusterId: machine.clusterId, machine: machine.name, providerId: infrastructure.providerId });
          infrastructure ??= await this.provider.createMachine({
            clusterId: machine.clusterId,
            name: machine.name,
            role: machine.role,
            pool: machine.pool,
            machineSize: machine.machineSize,
            kubernetesVersion: machine.kubernetesVersion,
            nodeOs: machine.nodeOs,
            host: machine.host,
            parameters: machine.parameters,
          });
          break;
        case 'Provisioning':
          infrastructure = await this.provider.getMachine(ref);
          if (!infrastructure) {
            observations.push({ kind: 'failed', code: 'machine-failed', message: `provider ${this.provider.name} no longer has the machine (${machine.providerId ?? 'no provider id'})` });
            return outcome(0);
          }
          break;
        case 'Provisioned':
          break;
        case 'Running':
        case 'Failed':
          return outcome(0);
      }
      let providerId = machine.providerId;
      let addresses = machine.addresses;
      if (infrastructure) {
        ({ providerId, addresses } = infrastructure);
        switch (infrastructure.status) {
          case 'Provisioning':
            observations.push({ kind: 'infrastructure-pending', providerId, addresses });
            return outcome(clamp(infrastructure.retryAfterMs ?? this.config.MACHINE_POLL_MS, MIN_RETRY_MS, this.config.MACHINE_POLL_MS));
          case 'Failed':
            observations.push({ kind: 'failed', code: 'machine-failed', message: infrastructure.failureMessage ?? `provider ${this.provider.name} reports the machine failed` });
            return outcome(0);
          case 'Running':
            observations.push({ kind: 'infrastructure-ready', providerId, addresses });
            break;
        }
      }
      const join = await this.bootstrapper.joinNode({
        clusterId: machine.clusterId,
        name: machine.name,
        role: machine.role,
        pool: machine.pool,
        providerId: providerId ?? '',
        addresses,
        kubernetesVersion: machine.kubernetesVersion,
        host: machine.host,
        spec: machine.spec,
      });
      switch (join.state) {
        case 'joining':
          observations.push({ kind: 'node-joining' });
          return outcome(this.config.MACHINE_POLL_MS);
        case 'joined':
          observations.push({ kind: 'node-joined', kubeletVersion: join.kubeletVersion });
          return outcome(0);
        case 'failed':
          observations.push({ kind: 'failed', code: 'machine-failed', message: `node did not join: ${join.message}` });
          return outcome(0);
      }
    } catch (error) {
      // Transient until proven otherwise; a provider that keeps failing fails the machine.
      const providerErrors = machine.providerErrors + 1;
      const lastError = describeError(error);
      if (providerErrors >= this.config.PROVIDER_MAX_ERRORS) {
        observations.push({ kind: 'failed', code: 'provider-error', message: `${providerErrors} calls to provider ${this.provider.name} failed in a row; last: ${lastError}` });
      }
      this.logger.warn({ msg: 'provider call failed', clusterId: machine.clusterId, machine: machine.name, providerErrors, error: lastError });
      return { observations, retryInMs: Math.min(MAX_BACKOFF_MS, this.config.MACHINE_POLL_MS * 2 ** (providerErrors - 1)), providerErrors, lastError };
    }
  }

  /** Everything the round saw, in one transaction. */
  private async record(worked: readonly { machine: ClaimedMachine; outcome: Outcome }[]): Promise<void> {
    if (worked.length === 0) return;
    await this.unitOfWork.run(async () => {
      const at = new Date();
      const before = await this.clusters.lockMany([...new Set(worked.map(({ machine }) => machine.clusterId))]);
      const after = new Map(before);
      const emitted: ClusterEvent[] = [];
      for (const { machine, outcome } of worked) {
        let state = after.get(machine.clusterId);
        if (!state) continue;
        for (const observation of outcome.observations) {
          try {
            const events = decide({ type: 'ObserveMachine', clusterId: machine.clusterId, machine: machine.name, observation, timeoutMs: this.config.MACHINE_TIMEOUT_MS, at: at.toISOString() }, state);
            state = events.reduce<ClusterState>(evolve, state);
            emitted.push(...events);
          } catch (error) {
            if (!(error instanceof ProvisionerError)) throw error;
            this.logger.warn({ msg: 'observation does not fit the cluster; ignored', clusterId: machine.clusterId, machine: machine.name, code: error.code, error: error.message });
          }
        }
        after.set(machine.clusterId, state);
      }

      const claimed = new Map(worked.map((item) => [`${item.machine.clusterId}/${item.machine.name}`, item.outcome]));
      const writes: MachineWrite[] = [];
      for (const [id, state] of after) {
        const previous = before.get(id)!;
        state.machines.forEach((machine, index) => {
          const old = previous.machines[index]!;
          const active = needsReconcile(state, machine);
          const outcome = claimed.get(`${id}/${machine.name}`);
          if (!outcome && machine === old && active === needsReconcile(previous, old)) return;
          writes.push({
            clusterId: id,
            machine,
            active,
            ...(outcome
              ? { release: { owner: this.owner, nextReconcileAt: new Date(at.getTime() + outcome.retryInMs), providerErrors: outcome.providerErrors, lastError: outcome.lastError } }
              : {}),
          });
        });
      }
      await this.clusters.updateClusters([...after.values()].filter((state) => state !== before.get(state.id)));
      await this.clusters.updateMachines(writes);
      this.integration.publish(emitted);
      for (const event of emitted) {
        if (event.type === 'ClusterRunning') this.logger.log({ msg: 'cluster running', clusterId: event.clusterId, nodes: event.nodes.length });
        if (event.type === 'ClusterFailed') this.logger.warn({ msg: 'cluster failed', clusterId: event.clusterId, reasons: event.reasons });
      }
    });
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}
