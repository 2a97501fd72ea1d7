import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { describeError, UnitOfWork } from '@flotilla/messaging';
import type { JoinSecrets } from '../bootstrap/join-secrets.js';
import { JoinSecretsCorruptError, JoinSecretsRepository } from '../bootstrap/join-secrets.repository.js';
import { JOIN_MATERIAL_ISSUER, type JoinMaterialIssuer } from '../bootstrap/join-material-issuer.js';
import { NODE_BOOTSTRAPPER, type NodeBootstrapper } from '../bootstrap/node-bootstrapper.js';
import { DEFAULT_NODE_OS } from '../domain/spec-validation.js';
import { BootstrapDataError, renderBootstrapData, type BootstrapData } from '../bootstrap/render/index.js';
import { PROVISIONER_CONFIG, type ProvisionerConfig } from '../config.js';
import { assignApiServerEndpoint, decide, evolve, ProvisionerError, type ClusterEvent, type ClusterState, type MachineObservation } from '../domain/cluster/index.js';
import { endpointAddress, INFRASTRUCTURE_PROVIDER, type InfrastructureProvider, type ProviderMachine } from '../infrastructure/provider.js';
import { HostOwnership } from '../hosts/host-ownership.js';
import { TenantClusters } from '../hosted/tenant-clusters.js';
import { ClusterRepository } from '../repositories/cluster.repository.js';
import { IntegrationEvents } from '../repositories/integration-events.js';
import { MachineQueue, type ClaimedMachine } from '../repositories/machine-queue.repository.js';
import { mapWithConcurrency } from './concurrency.js';
import { changesBetween, type ClaimOutcome } from './machine-writes.js';

/** What working on one machine showed, in order, plus the bookkeeping for its next turn. */
interface Outcome {
  observations: MachineObservation[];
  /** The cluster's control-plane endpoint (`host:port`) the provider gave, to record with the rest. */
  apiServerEndpoint?: string;
  retryInMs: number;
  providerErrors: number;
  lastError: string | null;
}

const MIN_RETRY_MS = 10;
const MAX_BACKOFF_MS = 60_000;

/**
 * The machine controller. Each round claims a batch of due machines (SKIP LOCKED, so replicas
 * share the work), drives each one as far as it goes at the provider and the node bootstrap
 * (bounded concurrency, outside any transaction): creates it and joins its node, checks a
 * Running node's health, upgrades a user's host in place, or drains and releases a machine on
 * its way out. Then it records every observation in ONE transaction: state changes, the
 * machines' next turn, new and released machines, and the bus events that follow. A crash at any point loses nothing: claims expire, and creating a
 * machine is idempotent by name, so the next claimer adopts what was made.
 */
@Injectable()
export class MachineReconciler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Who holds a claim: unique per process, so a restarted process never mistakes old claims for its own. */
  readonly owner = `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  private readonly logger = new Logger(MachineReconciler.name);
  private readonly task: PeriodicTask;
  private stopping = false;
  private readonly joinSecretsOfRound = new Map<string, Promise<JoinSecrets>>();
  private readonly endpointsOfRound = new Map<string, Promise<string>>();
  /** The turn of each cluster's first control plane in this round: the cluster's other machines join after it. */
  private readonly firstControlPlaneTurns = new Map<string, Promise<unknown>>();
  /** Machines recorded since the queue was last vacuumed, and the vacuum under way. */
  private recordedSinceVacuum = 0;
  private vacuuming: Promise<void> | undefined;

  constructor(
    @Inject(MachineQueue) private readonly queue: MachineQueue,
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(IntegrationEvents) private readonly integration: IntegrationEvents,
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(INFRASTRUCTURE_PROVIDER) private readonly provider: InfrastructureProvider,
    @Inject(NODE_BOOTSTRAPPER) private readonly bootstrapper: NodeBootstrapper,
    @Inject(JoinSecretsRepository) private readonly joinSecrets: JoinSecretsRepository,
    @Inject(JOIN_MATERIAL_ISSUER) private readonly joinIssuer: JoinMaterialIssuer,
    @Inject(PROVISIONER_CONFIG) private readonly config: ProvisionerConfig,
    @Inject(TenantClusters) private readonly tenants: TenantClusters,
    @Inject(HostOwnership) private readonly hosts: HostOwnership,
    @Inject(Clock) private readonly clock: Clock,
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
    await this.vacuuming;
  }

  /** One round; returns how many machines it claimed. */
  async reconcileOnce(): Promise<number> {
    const claimed = await this.queue.claim(this.owner, this.config.RECONCILE_BATCH_SIZE, this.config.MACHINE_LEASE_MS, this.clock.now());
    if (claimed.length === 0) return 0;
    // The machines of a cluster in one round share one read (and renewal) of its join secrets.
    this.joinSecretsOfRound.clear();
    this.endpointsOfRound.clear();
    this.firstControlPlaneTurns.clear();
    try {
      await this.prepareClusters(claimed);
      // Every cluster's first control plane comes up before the rest of the round (it runs
      // `kubeadm init`, which its siblings join), all of them together: their creates and inits
      // go to the provider in a few batches rather than one cluster at a time.
      const order = [...claimed.filter(isFirstControlPlane), ...claimed.filter((machine) => !isFirstControlPlane(machine))];
      const ordered = await mapWithConcurrency(order, this.config.PROVIDER_CONCURRENCY, (machine) => this.turn(machine), () => this.stopping);
      const byMachine = new Map(order.map((machine, index) => [machine, ordered[index]]));
      const outcomes = claimed.map((machine) => byMachine.get(machine));
      const worked = claimed.flatMap((machine, index) => {
        const outcome = outcomes[index];
        return outcome ? [{ machine, outcome }] : [];
      });
      await this.record(worked);
      this.vacuumNowAndThen(worked.length);
      // Stopping: what was never started goes back to the queue for whoever runs next.
      await this.queue.release(
        this.owner,
        claimed.filter((_, index) => outcomes[index] === undefined),
        this.clock.now(),
      );
    } catch (error) {
      // Recording failed (a deadlock, the database gone): retry soon rather than after the lease.
      await this.queue.release(this.owner, claimed, this.clock.now()).catch(() => undefined);
      throw error;
    }
    return claimed.length;
  }

  /**
   * Every RECONCILE_VACUUM_EVERY machines recorded, the queue's tables are vacuumed, beside the
   * rounds that go on meanwhile (`MachineQueue.vacuum`). A vacuum that fails is logged; the next
   * one comes after as many machines again.
   */
  private vacuumNowAndThen(recorded: number): void {
    const every = this.config.RECONCILE_VACUUM_EVERY;
    this.recordedSinceVacuum += recorded;
    if (every === 0 || this.recordedSinceVacuum < every || this.vacuuming) return;
    this.recordedSinceVacuum = 0;
    this.vacuuming = this.queue
      .vacuum()
      .catch((error: unknown) => this.logger.warn({ msg: 'vacuum of the machine queue failed', error: describeError(error) }))
      .finally(() => (this.vacuuming = undefined));
  }

  /**
   * What the round's clusters coming up share, asked for all of them at once before any
   * machine's turn: the endpoint (one provider call for the round) and the join secrets (the
   * sets made, stored in one transaction). A failure is left to the machines' turns, which ask
   * again and record it.
   */
  private async prepareClusters(claimed: readonly ClaimedMachine[]): Promise<void> {
    const firstOfCluster = new Map<string, ClaimedMachine>();
    for (const machine of claimed) {
      if (machine.phase !== 'Pending' || machine.clusterPhase === 'Running' || !this.allocatesEndpoint(machine)) continue;
      if (!firstOfCluster.has(machine.clusterId)) firstOfCluster.set(machine.clusterId, machine);
    }
    await Promise.allSettled(
      [...firstOfCluster.values()].map(async (machine) => {
        const endpoint = await this.apiServerEndpointFor(machine);
        if (endpoint !== undefined) await this.joinSecretsFor(machine, true);
      }),
    );
  }

  /**
   * One machine's turn in the round. A cluster's first control plane coming up is remembered, so
   * that the cluster's other machines claimed with it ask to join once it had its turn (it runs
   * `kubeadm init`): asked before, they would find no API server and wait a poll interval, and
   * a claim, for nothing.
   */
  private turn(machine: ClaimedMachine): Promise<Outcome> {
    const outcome = this.drive(machine);
    if (isFirstControlPlane(machine) && isComingUp(machine)) {
      this.firstControlPlaneTurns.set(machine.clusterId, outcome.catch(() => undefined));
    }
    return outcome;
  }

  /** Takes one machine as far as its work goes now. */
  private async drive(machine: ClaimedMachine): Promise<Outcome> {
    if (machine.phase === 'Deleting') return this.remove(machine);
    if (machine.phase === 'Running') {
      if (machine.upgrade) return this.upgrade(machine, machine.upgrade);
      if (machine.remediation?.action === 'reboot' && machine.remediation.rebootedAt === null) return this.reboot(machine);
      return this.checkHealth(machine);
    }
    return this.provision(machine);
  }

  /** Create or adopt the machine, wait for it, join it as a node. */
  private async provision(machine: ClaimedMachine): Promise<Outcome> {
    const observations: MachineObservation[] = [];
    let apiServerEndpoint: string | undefined;
    const outcome = (retryInMs: number): Outcome => ({ observations, retryInMs, providerErrors: 0, lastError: null, ...(apiServerEndpoint === undefined ? {} : { apiServerEndpoint }) });
    const ref = { clusterId: machine.clusterId, name: machine.name, providerId: machine.providerId };
    try {
      let infrastructure: ProviderMachine | undefined;
      switch (machine.phase) {
        case 'Pending':
          // The endpoint exists before the cluster's first machine does (nodes are configured
          // with it), and is recorded again with an adopted machine (a crash lost the record).
          apiServerEndpoint = await this.apiServerEndpointFor(machine);
          // A hosted cluster's workers join its control plane: they wait until it is Ready.
          if (machine.spec.model === 'hosted-control-plane' && apiServerEndpoint === undefined) return outcome(this.config.MACHINE_POLL_MS);
          // Claimed before (a crash, an expired claim) or already known: the provider may have
          // it. Adopt it rather than asking for another.
          if (machine.claims > 1 || machine.providerId) infrastructure = await this.provider.getMachine(ref);
          if (infrastructure) this.logger.log({ msg: 'adopted existing machine', clusterId: machine.clusterId, machine: machine.name, providerId: infrastructure.providerId });
          if (!infrastructure) {
            const bootstrap = await this.bootstrapDataFor(machine, apiServerEndpoint);
            if (!bootstrap.ok) {
              observations.push({ kind: 'failed', code: 'machine-failed', message: bootstrap.message });
              return outcome(0);
            }
            infrastructure = await this.provider.createMachine({
              clusterId: machine.clusterId,
              name: machine.name,
              role: machine.role,
              pool: machine.pool,
              machineSize: machine.machineSize,
              kubernetesVersion: machine.kubernetesVersion,
              nodeOs: machine.nodeOs,
              host: machine.host,
              parameters: machine.parameters,
              ...(bootstrap.data ? { bootstrapData: bootstrap.data } : {}),
            });
          }
          break;
        case 'Provisioning':
          infrastructure = await this.provider.getMachine(ref);
          if (!infrastructure) {
            observations.push({ kind: 'failed', code: 'machine-failed', message: `provider ${this.provider.name} no longer has the machine (${machine.providerId ?? 'no provider id'})` });
            return outcome(0);
          }
          break;
        case 'Provisioned':
        case 'Running':
        case 'Deleting':
        case 'Failed':
          break;
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
      if (!isFirstControlPlane(machine)) await this.firstControlPlaneTurns.get(machine.clusterId);
      const join = await this.bootstrapper.joinNode({ ...this.nodeRef(machine), providerId: providerId ?? '', addresses, kubernetesVersion: machine.kubernetesVersion });
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
      return this.failedCall(machine, error, observations, (providerErrors, lastError) => ({
        kind: 'failed',
        code: 'provider-error',
        message: `${providerErrors} calls to provider ${this.provider.name} failed in a row; last: ${lastError}`,
      }));
    }
  }

  /** Machine health check: is the node Ready? */
  private async checkHealth(machine: ClaimedMachine): Promise<Outcome> {
    const observations: MachineObservation[] = [];
    // Only a Running cluster's nodes are checked (and remediated).
    if (machine.clusterPhase !== 'Running') return { observations, retryInMs: this.config.MHC_CHECK_INTERVAL_MS, providerErrors: 0, lastError: null };
    try {
      const ready = await this.bootstrapper.nodeReady(this.nodeRef(machine));
      observations.push(ready ? { kind: 'node-ready' } : { kind: 'node-not-ready', message: `node ${machine.name} is not Ready` });
      return { observations, retryInMs: this.config.MHC_CHECK_INTERVAL_MS, providerErrors: 0, lastError: null };
    } catch (error) {
      // A node nobody can reach is not Ready either.
      return this.failedCall(machine, error, observations, (providerErrors, lastError) => ({ kind: 'node-not-ready', message: `${providerErrors} health checks failed in a row; last: ${lastError}` }));
    }
  }

  /** In-place upgrade of a user's host (kubeadm upgrade). */
  private async upgrade(machine: ClaimedMachine, upgrade: NonNullable<ClaimedMachine['upgrade']>): Promise<Outcome> {
    const observations: MachineObservation[] = [];
    const outcome = (retryInMs: number): Outcome => ({ observations, retryInMs, providerErrors: 0, lastError: null });
    try {
      const result = await this.bootstrapper.upgradeNode({ ...this.nodeRef(machine), fromVersion: machine.kubernetesVersion, toVersion: upgrade.toVersion, first: upgrade.first });
      switch (result.state) {
        case 'joining':
          observations.push({ kind: 'node-upgrading' });
          return outcome(this.config.MACHINE_POLL_MS);
        case 'joined':
          observations.push({ kind: 'node-upgraded', kubeletVersion: result.kubeletVersion });
          return outcome(0);
        case 'failed':
          observations.push({ kind: 'upgrade-failed', message: result.message });
          return outcome(0);
      }
    } catch (error) {
      return this.failedCall(machine, error, observations, (providerErrors, lastError) => ({ kind: 'upgrade-failed', message: `${providerErrors} attempts failed in a row; last: ${lastError}` }));
    }
  }

  /** Reboot a user's host that failed its health check; its health is checked again after. */
  private async reboot(machine: ClaimedMachine): Promise<Outcome> {
    const observations: MachineObservation[] = [];
    try {
      await this.bootstrapper.rebootNode(this.nodeRef(machine));
      observations.push({ kind: 'node-rebooted' });
      return { observations, retryInMs: this.config.MHC_CHECK_INTERVAL_MS, providerErrors: 0, lastError: null };
    } catch (error) {
      // A host that cannot be reached cannot be rebooted: after the retries it counts as told, and is reported if it stays down.
      return this.failedCall(machine, error, observations, () => ({ kind: 'node-rebooted' }));
    }
  }

  /** Drain and reset the node, then release the machine (a machine already gone is released). */
  private async remove(machine: ClaimedMachine): Promise<Outcome> {
    const observations: MachineObservation[] = [];
    try {
      // A user's host down for good must not hold its cluster's deletion or replacement forever.
      const leaveUnreachableHost = machine.host !== null && machine.providerErrors + 1 >= this.config.PROVIDER_MAX_ERRORS;
      await this.bootstrapper.removeNode(this.nodeRef(machine), { leaveUnreachableHost });
      await this.provider.deleteMachine({ clusterId: machine.clusterId, name: machine.name, providerId: machine.providerId });
      // The cluster goes: its endpoint with its last machine. Whichever of its machines is
      // released last sees none left (each lists after its own delete).
      if (machine.clusterPhase === 'Deleting' && this.allocatesEndpoint(machine) && (await this.provider.listMachines(machine.clusterId)).length === 0) {
        await this.provider.releaseControlPlaneEndpoint(machine.clusterId);
      }
      observations.push({ kind: 'machine-deleted' });
      return { observations, retryInMs: 0, providerErrors: 0, lastError: null };
    } catch (error) {
      // Releasing never gives up: a leaked machine costs money. It backs off instead.
      return this.failedCall(machine, error, observations, () => undefined);
    }
  }

  private nodeRef(machine: ClaimedMachine) {
    return {
      clusterId: machine.clusterId,
      name: machine.name,
      role: machine.role,
      pool: machine.pool,
      providerId: machine.providerId ?? '',
      addresses: machine.addresses,
      host: machine.host,
      spec: machine.spec,
      ...(machine.host ? { controlPlanes: machine.controlPlanes } : {}),
    };
  }

  /** A call that threw: retried with backoff; after PROVIDER_MAX_ERRORS in a row, `giveUp` says what that means. */
  private failedCall(machine: ClaimedMachine, error: unknown, observations: MachineObservation[], giveUp: (providerErrors: number, lastError: string) => MachineObservation | undefined): Outcome {
    const providerErrors = machine.providerErrors + 1;
    const lastError = describeError(error);
    if (providerErrors >= this.config.PROVIDER_MAX_ERRORS) {
      const observation = giveUp(providerErrors, lastError);
      if (observation) observations.push(observation);
    }
    this.logger.warn({ msg: 'provider call failed', clusterId: machine.clusterId, machine: machine.name, phase: machine.phase, providerErrors, error: lastError });
    return { observations, retryInMs: Math.min(MAX_BACKOFF_MS, this.config.MACHINE_POLL_MS * 2 ** (providerErrors - 1)), providerErrors, lastError };
  }

  /**
   * The first-boot data of a platform machine: its OS configures itself and runs kubeadm from
   * it. Machines users bring get none (they are installed over SSH). A hosted cluster's workers
   * join its TenantControlPlane's endpoint with a token minted there.
   * Bad input (a label kubeadm refuses) fails the machine; a database error is retried.
   */
  private async bootstrapDataFor(machine: ClaimedMachine, endpoint: string | undefined): Promise<{ ok: true; data: BootstrapData | null } | { ok: false; message: string }> {
    const { spec } = machine;
    if (machine.host !== null || endpoint === undefined) return { ok: true, data: null };
    try {
      const first = isFirstControlPlane(machine);
      const secrets = spec.model === 'hosted-control-plane' ? await this.hostedJoinFor(machine) : await this.joinSecretsFor(machine, first);
      const data = renderBootstrapData({
        clusterId: machine.clusterId,
        spec: { ...spec, kubernetesVersion: machine.kubernetesVersion },
        node: { name: machine.name, role: machine.role, pool: machine.pool, first, address: null },
        controlPlaneEndpoint: endpoint,
        secrets,
        nodeOs: spec.nodeOs ?? DEFAULT_NODE_OS,
      });
      return { ok: true, data };
    } catch (error) {
      if (error instanceof BootstrapDataError || error instanceof JoinSecretsCorruptError) return { ok: false, message: `bootstrap data: ${error.message}` };
      throw error;
    }
  }

  /**
   * Where a platform cluster's API servers answer: the request's own load balancer
   * (`infrastructure.parameters.controlPlaneEndpoint`) when it names one, else the endpoint the
   * provider allocates for the cluster (idempotent; once per cluster and round). A hosted
   * cluster's is its TenantControlPlane's once Ready (undefined before). Undefined for machines
   * users bring: theirs is their virtual IP.
   */
  private apiServerEndpointFor(machine: ClaimedMachine): Promise<string | undefined> {
    if (machine.spec.model === 'hosted-control-plane') return this.tenants.readyEndpoint(machine.clusterId);
    if (machine.host !== null) return Promise.resolve(undefined);
    const given = givenEndpoint(machine.parameters);
    if (given !== undefined) return Promise.resolve(given);
    let pending = this.endpointsOfRound.get(machine.clusterId);
    if (!pending) {
      pending = this.provider.ensureControlPlaneEndpoint(machine.clusterId, machine.parameters).then(endpointAddress);
      this.endpointsOfRound.set(machine.clusterId, pending);
      pending.catch(() => this.endpointsOfRound.delete(machine.clusterId));
    }
    return pending;
  }

  /** The provider holds the endpoint of a platform cluster that names none of its own. */
  private allocatesEndpoint(machine: ClaimedMachine): boolean {
    return machine.host === null && machine.spec.model !== 'hosted-control-plane' && givenEndpoint(machine.parameters) === undefined;
  }

  /**
   * The join secrets a machine boots with. The machines made while the cluster comes up get the
   * set as it is: the first control plane's `kubeadm init` creates its token and uploads the
   * certificates, and the others join within the machine timeout. A machine made once the
   * cluster runs (scale-up, replacement) needs them to last until its deadline (the node startup
   * timeout), or they are made again in the running cluster first. Shared by the cluster's
   * machines in a round; a control-plane join waits for the workers' read, so one token is
   * minted per round.
   */
  private joinSecretsFor(machine: ClaimedMachine, first: boolean): Promise<JoinSecrets> {
    const load = (need: 'as-made' | 'worker' | 'control-plane'): Promise<JoinSecrets> => {
      const key = `${machine.clusterId}\0${need}`;
      let pending = this.joinSecretsOfRound.get(key);
      if (!pending) {
        const window = { controlPlane: need === 'control-plane', windowMs: this.config.MHC_NODE_STARTUP_TIMEOUT_MS };
        pending =
          need === 'as-made'
            ? this.joinSecrets.forCluster(machine.clusterId)
            : (need === 'control-plane' ? load('worker') : Promise.resolve()).then(() => this.joinSecrets.forJoin(machine.clusterId, window, this.joinIssuer));
        this.joinSecretsOfRound.set(key, pending);
        // A failed read is not remembered: the next machine of the cluster tries again.
        pending.catch(() => this.joinSecretsOfRound.delete(key));
      }
      return pending;
    };
    if (first || machine.clusterPhase !== 'Running') return load('as-made');
    return load(machine.role === 'control-plane' ? 'control-plane' : 'worker');
  }

  /**
   * The join material of a hosted cluster's platform worker: a token minted in the hosted
   * cluster, lasting the machine's window to come up, and the pin of its CA. Shared by the
   * cluster's machines in a round; never stored (a machine made again gets a new one).
   */
  private hostedJoinFor(machine: ClaimedMachine): Promise<JoinSecrets> {
    const key = `${machine.clusterId}\0hosted`;
    let pending = this.joinSecretsOfRound.get(key);
    if (!pending) {
      const windowMs = machine.clusterPhase === 'Running' ? this.config.MHC_NODE_STARTUP_TIMEOUT_MS : this.config.MACHINE_TIMEOUT_MS;
      pending = this.tenants.joinMaterial(machine.clusterId, windowMs).then((join) => {
        if (!join) throw new Error(`hosted cluster ${machine.clusterId}: its control plane is not Ready`);
        return join.secrets;
      });
      this.joinSecretsOfRound.set(key, pending);
      pending.catch(() => this.joinSecretsOfRound.delete(key));
    }
    return pending;
  }

  /** Everything the round saw, in one transaction. */
  private async record(worked: readonly { machine: ClaimedMachine; outcome: Outcome }[]): Promise<void> {
    if (worked.length === 0) return;
    await this.unitOfWork.run(async () => {
      const at = this.clock.now();
      const before = await this.clusters.lockMany([...new Set(worked.map(({ machine }) => machine.clusterId))]);
      const after = new Map(before);
      const emitted: ClusterEvent[] = [];
      for (const { machine, outcome } of worked) {
        let state = after.get(machine.clusterId);
        if (!state) continue;
        // First: an adopted machine may already run, and the cluster with it.
        if (outcome.apiServerEndpoint !== undefined) {
          try {
            const events = assignApiServerEndpoint(state, outcome.apiServerEndpoint, at.toISOString());
            state = events.reduce<ClusterState>(evolve, state);
            emitted.push(...events);
          } catch (error) {
            if (!(error instanceof ProvisionerError)) throw error;
            this.logger.error({ msg: 'provider gave another control-plane endpoint; the recorded one is kept', clusterId: machine.clusterId, code: error.code, error: error.message });
          }
        }
        for (const observation of outcome.observations) {
          try {
            const events = decide(
              {
                type: 'ObserveMachine',
                clusterId: machine.clusterId,
                machine: machine.name,
                observation,
                timeoutMs: this.config.MACHINE_TIMEOUT_MS,
                startupTimeoutMs: this.config.MHC_NODE_STARTUP_TIMEOUT_MS,
                health: { unhealthyTimeoutMs: this.config.MHC_UNHEALTHY_TIMEOUT_MS, maxUnhealthy: this.config.MHC_MAX_UNHEALTHY },
                at: at.toISOString(),
              },
              state,
            );
            state = events.reduce<ClusterState>(evolve, state);
            emitted.push(...events);
          } catch (error) {
            if (!(error instanceof ProvisionerError)) throw error;
            // A machine released meanwhile, say: what was seen of it no longer matters.
            this.logger.warn({ msg: 'observation does not fit the cluster; ignored', clusterId: machine.clusterId, machine: machine.name, code: error.code, error: error.message });
          }
        }
        after.set(machine.clusterId, state);
      }

      const claimed = new Map<string, ClaimOutcome>(
        worked.map(({ machine, outcome }) => [`${machine.clusterId}/${machine.name}`, { owner: this.owner, retryInMs: outcome.retryInMs, providerErrors: outcome.providerErrors, lastError: outcome.lastError }]),
      );
      await this.clusters.saveChanges(changesBetween(before, after, at, this.config.MHC_CHECK_INTERVAL_MS, claimed));
      await this.hosts.afterEvents(before, emitted);
      await this.integration.publish(emitted);
      this.integration.reportProgress(before, after);
      for (const event of emitted) logEvent(this.logger, event);
    });
  }
}

/** The lifecycle's milestones in the log; machine-by-machine progress is on the HTTP API. */
export function logEvent(logger: Logger, event: ClusterEvent): void {
  switch (event.type) {
    case 'ClusterRunning':
      logger.log({ msg: 'cluster running', clusterId: event.clusterId, nodes: event.nodes.length });
      break;
    case 'ClusterFailed':
      logger.warn({ msg: 'cluster failed', clusterId: event.clusterId, reasons: event.reasons });
      break;
    case 'MachineReplaced':
      logger.log({ msg: 'machine replaced', clusterId: event.clusterId, oldMachine: event.oldMachine.name, newMachine: event.newMachine.name, reason: event.reason });
      break;
    case 'RemediationBlocked':
      logger.warn({ msg: 'too many unhealthy machines: no remediation', clusterId: event.clusterId, unhealthy: event.unhealthy, total: event.total, allowed: event.allowed });
      break;
    case 'NodePoolScaled':
      logger.log({ msg: 'node pool scaled', clusterId: event.clusterId, pool: event.pool, from: event.from, to: event.to });
      break;
    case 'ClusterUpgraded':
      logger.log({ msg: 'cluster upgraded', clusterId: event.clusterId, fromVersion: event.fromVersion, toVersion: event.toVersion, planId: event.planId });
      break;
    case 'UpgradeStepRejected':
    case 'UpgradeFailed':
      logger.warn({ msg: event.type === 'UpgradeFailed' ? 'upgrade failed' : 'upgrade step refused', clusterId: event.clusterId, toVersion: event.toVersion, reasons: event.reasons });
      break;
    case 'ClusterDeleted':
      logger.log({ msg: 'cluster deleted', clusterId: event.clusterId });
      break;
    default:
      break;
  }
}

/** `infrastructure.parameters.controlPlaneEndpoint`: a load balancer or VIP of the requester's own, when named. */
export function givenEndpoint(parameters: Record<string, unknown>): string | undefined {
  const given = parameters['controlPlaneEndpoint'];
  return typeof given === 'string' && given.length > 0 ? given : undefined;
}

/** The machine that runs `kubeadm init`: the cluster's other machines join the cluster it makes. */
function isFirstControlPlane(machine: { clusterId: string; name: string }): boolean {
  return machine.name === `${machine.clusterId}-cp-0`;
}

function isComingUp(machine: ClaimedMachine): boolean {
  return machine.phase === 'Pending' || machine.phase === 'Provisioning' || machine.phase === 'Provisioned';
}

function clamp(value: number, min: number, max: number): number {
  return Math.max(min, Math.min(max, value));
}
