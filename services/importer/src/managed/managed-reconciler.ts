import { Clock, PeriodicTask } from '@flotilla/service-kit';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ClusterDeleted, ClusterProgress, ClusterProvisioningFailed, ClusterReady, ClusterUpgraded, NodePoolScaled, UpgradeStepFailed, type Reason } from '@flotilla/contracts';
import { UnitOfWork, type EventToEmit } from '@flotilla/messaging';
import { CloudError, isTransientCloudError } from '../clouds/errors.js';
import type { CloudProviderName } from '../clouds/cloud-provider.js';
import type { CloudFollowUp, CloudTarget, ObservedCloudCluster, ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../credentials/credential-store.js';
import { ConnectedClusterRepository } from '../repositories/connected-cluster.repository.js';
import { connectedRecordOf } from './connected-record.js';
import { LifecycleUnavailableError, type AccountLifecycle, type CloudLifecycles } from './lifecycles.js';
import { ManagedClusterRepository, type ManagedClaim } from './managed-cluster.repository.js';
import { requestTokenFor, targetOf, type ManagedCluster } from './managed-cluster.js';
import { decideNextStep, stepKey, type Observation, type Step } from './next-step.js';
import { settleDone, settleFailed, settleStarted, settleThrottled, settleTransient, settleWait, settleWaitOn, type ManagedEvent, type ReconcilePolicy, type Settled } from './outcome.js';
import { ObservedDurations, operationKindOf, type OperationKind } from './look-again.js';
import { closeGate, gateOpen, heldUntil } from './throttle.js';
import { setAtMost } from '../clouds/bounded-map.js';

export interface ManagedReconcilerSettings extends ReconcilePolicy {
  /** How often the idle reconciler looks for clusters with work due. */
  roundIntervalMs: number;
  /** Clusters one replica works on side by side (steps in flight at most). */
  concurrency: number;
  /** A claim outlives one step's calls: a replica that dies leaves the cluster to another after this. */
  leaseMs: number;
  /** The calls of one step together give up after this long (a transient failure). */
  stepTimeoutMs: number;
  /** A throttled answer without Retry-After closes the account's gate this long. */
  throttleFallbackMs: number;
  /** An imported cluster's first periodic re-check is due this long after ClusterReady. */
  firstSyncAfterMs: number;
  /** How long one answer of the versions a cloud offers in a place serves (default OFFERED_VERSIONS_TTL_MS). */
  offeredVersionsTtlMs?: number;
}

/** The versions a cloud offers change with its releases, a few times a year: an answer serves ten minutes. */
export const OFFERED_VERSIONS_TTL_MS = 600_000;
const MAX_OFFERED_VERSION_ANSWERS = 1_000;
/** Steps one look at the cloud can lead to: the create after the version check, or each node group of a cluster. */
const MAX_STEPS_AT_ONCE = 8;
/** An opened cloud account serves this long before its credential is read again. */
const OPENED_ACCOUNT_TTL_MS = 10_000;
const MAX_OPENED_ACCOUNTS = 1_000;
/** Steps timed at once at most (one per cluster at work). */
const MAX_STEPS_TIMED = 100_000;
type OpenedAccount = { cloud: AccountLifecycle } | { reasons: Reason[] };
/** An operation started for a cluster's step, and when (ms). */
interface StartedOperation {
  step: string;
  kind: OperationKind | null;
  at: number;
}
const accountKey = (cluster: Pick<ManagedCluster, 'provider' | 'credentialRef'>) => `${cluster.provider}\n${cluster.credentialRef}`;

/** Clouds that create the node groups of one cluster side by side (GKE runs one operation at a time per cluster). */
const PARALLEL_NODE_GROUPS: ReadonlySet<CloudProviderName> = new Set(['eks', 'aks']);

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
  /** Steps under way (at most `concurrency`). */
  private readonly inFlight = new Set<Promise<void>>();
  /** How long each kind of operation took here: when a waiting cluster is looked at again (look-again.ts). */
  private readonly durations = new ObservedDurations();
  /** When the operation each cluster waits on was started (its step, and the kind of operation timed), to learn its duration once seen over. */
  private readonly started = new Map<string, StartedOperation>();
  /** The settings, with the durations seen: what the outcomes are timed by. */
  private readonly policy: ReconcilePolicy;
  /** Cloud accounts opened, by provider and credential. */
  private readonly accounts = new Map<string, { opened: Promise<OpenedAccount>; until: number }>();
  /** The versions each cloud offers, by provider, account and place: the answer, or the question under way. */
  private readonly offered = new Map<string, { versions: Promise<string[]>; until: number }>();

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
    this.policy = { ...settings, observed: this.durations };
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
    // The loop's signal aborted every step: each releases its cluster or records what it did.
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * One round: claims as many clusters with work due as there are free places (`concurrency` steps
   * in flight at most) and starts a step for each, without waiting for the others: a step waiting on
   * its cloud or its account's request budget holds its own place only. With every place taken it
   * waits for one to free up.
   */
  async round(signal: AbortSignal): Promise<number> {
    const free = this.settings.concurrency - this.inFlight.size;
    // Clusters are claimed a quarter of the places at a time at least: each claim costs its statements.
    if (this.inFlight.size > 0 && free < Math.max(1, Math.floor(this.settings.concurrency / 4))) {
      await Promise.race(this.inFlight);
      return 1;
    }
    const claims = await this.clusters.claimDue(free, this.clock.now(), this.settings.leaseMs);
    if (claims.length === 0) return 0;
    // One gate per account for the whole service: a cloud that throttled one replica is left alone by all.
    // The gates are read once for the round's clusters, most of which share an account.
    const gates = await this.clusters.closedGates(this.clock.now());
    const account = (cluster: ManagedCluster) => this.account(cluster);
    for (const claim of claims) {
      const step: Promise<void> = this.reconcile(claim, gates.get(accountKey(claim.cluster)) ?? null, account, signal)
        .catch((error: unknown) => {
          // Its claim runs out and the cluster is taken again (a database that failed mid-step).
          this.logger.warn({ msg: 'managed cluster step failed; taken again when its claim runs out', clusterId: claim.cluster.id, error: error instanceof Error ? error.message : String(error) });
        })
        .finally(() => this.inFlight.delete(step));
      this.inFlight.add(step);
    }
    return claims.length;
  }

  private async reconcile({ cluster, claimId }: ManagedClaim, gateAt: Date | null, account: (cluster: ManagedCluster) => Promise<OpenedAccount>, stopping: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const gate = gateOpen(gateAt, now);
    if (!gate.open) {
      await this.clusters.release(cluster.id, claimId, heldUntil(gate.at, now, cluster.id));
      return;
    }
    const opened = await account(cluster);
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
      if (operation !== undefined && !operation.done) {
        // An operation in flight is waited on whatever the cloud shows of the cluster: nothing more to read.
        settled = this.waitOn(cluster, operation.followUp, now);
      } else {
        // A create not started yet has nothing to look at: every lifecycle's create resumes what a crash left of it.
        const observed = firstOfCreate(cluster) ? null : (controlPlaneSeenReady(cluster) ?? (await opened.cloud.findCluster(target, signal)));
        groups = nodeGroupsMatter(cluster, observed) ? await opened.cloud.listNodeGroups(target, signal, groupsWanted(cluster)) : [];
        settled = await this.takeSteps(cluster, operation === undefined ? { cluster: observed, nodeGroups: groups } : { operation, cluster: observed, nodeGroups: groups }, opened.cloud, target, signal);
      }
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

  /**
   * Takes the step decided, and the ones that can follow it at once without looking at the cloud
   * again: the create once the version is found offered, every missing node group of a cloud that
   * creates them side by side. The events of all of them are kept, the last progress only.
   */
  private async takeSteps(cluster: ManagedCluster, observed: Observation, cloud: AccountLifecycle, target: CloudTarget, signal: AbortSignal): Promise<Settled> {
    let current = cluster;
    let observation = observed;
    let step = decideNextStep(current, observation);
    this.maybeOver(cluster, step, observed);
    const events: ManagedEvent[] = [];
    for (let taken = 1; ; taken += 1) {
      const settled = await this.take(current, step, cloud, target, observation, signal);
      events.push(...settled.events);
      const follow = taken < MAX_STEPS_AT_ONCE ? followingObservation(step, settled.next, observation) : null;
      const next = follow === null ? null : decideNextStep(settled.next, follow);
      if (follow === null || next === null || !startsAtOnce(next)) return { next: settled.next, events: lastProgressOnly(events) };
      current = settled.next;
      observation = follow;
      step = next;
    }
  }

  /**
   * The step the cluster waited on is over when its operation is seen done or something other than
   * waiting comes next: how long it took is learned (a failure teaches nothing). It is counted to
   * when this look was due, not to when it came: a look that came late (the replica busy) says
   * nothing of the cloud, and counting its delay would put the next looks later still.
   */
  private maybeOver(cluster: ManagedCluster, next: Step, observed: Observation): void {
    const started = this.started.get(cluster.id);
    if (started === undefined || started.step !== cluster.step) return;
    if (next.kind === 'wait' && observed.operation?.done !== true) return;
    this.started.delete(cluster.id);
    const failed = next.kind === 'fail' || (observed.operation?.done === true && observed.operation.failure !== null);
    if (!failed) this.learn(cluster, started);
  }

  /** How long the operation `started` took, to when this look was due (see `maybeOver`). */
  private learn(cluster: ManagedCluster, started: StartedOperation): void {
    const seen = Math.min(this.clock.now().getTime(), Date.parse(cluster.nextAttemptAt));
    if (started.kind !== null) this.durations.record(cluster.provider, started.kind, seen - started.at);
  }

  /**
   * The cloud still at work on the step. At the second operation of a call that is two (a GKE
   * create, then the drop of its bootstrap pool), the wait is timed by that operation: the first
   * one's duration is learned when it is seen over and the second is timed from its start, so that
   * a create is neither learned as both nor its second half looked at on the create's clock. (A
   * delete whose first half drops a pool is not learned as a delete: its step names the second.)
   */
  private waitOn(cluster: ManagedCluster, followUp: CloudFollowUp | undefined, now: Date): Settled {
    if (followUp === undefined) return settleWait(cluster, false, now, this.policy, false, this.elapsedMs(cluster, now));
    const started = this.started.get(cluster.id);
    if (followUp.startedNow && cluster.step !== null) {
      if (started !== undefined && started.step === cluster.step && started.kind !== followUp.operation) this.learn(cluster, started);
      this.remember(cluster.id, cluster.step, now.getTime(), followUp.operation);
    }
    return settleWaitOn(cluster, followUp.operation, followUp.startedNow, now, this.policy, this.elapsedMs(cluster, now));
  }

  /** How long ago the operation the cluster waits on was started, when this process started it. */
  private elapsedMs(cluster: ManagedCluster, now: Date): number | undefined {
    const started = this.started.get(cluster.id);
    return started === undefined || started.step !== cluster.step ? undefined : now.getTime() - started.at;
  }

  /** The cluster's cloud account, opened once for every cluster of it for a while (a rotated credential is read again after OPENED_ACCOUNT_TTL_MS). */
  private account(cluster: ManagedCluster): Promise<OpenedAccount> {
    const key = accountKey(cluster);
    const now = this.clock.now().getTime();
    const known = this.accounts.get(key);
    if (known !== undefined && known.until > now) return known.opened;
    const opened = this.openAccount(cluster);
    setAtMost(this.accounts, key, { opened, until: now + OPENED_ACCOUNT_TTL_MS }, MAX_OPENED_ACCOUNTS);
    // A failure to open is not kept: the next cluster asks again (its credential may be stored by then).
    const forget = () => {
      if (this.accounts.get(key)?.opened === opened) this.accounts.delete(key);
    };
    opened.then((result) => ('reasons' in result ? forget() : undefined), forget);
    return opened;
  }

  private async openAccount(cluster: ManagedCluster): Promise<OpenedAccount> {
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
    { nodeGroups: groups, operation, cluster: seen }: Observation,
    signal: AbortSignal,
  ): Promise<Settled> {
    const now = this.clock.now();
    const key = stepKey(step);
    const token = requestTokenFor(cluster.id, cluster.generation, key);
    // Timed from the cloud's answer, not from before the call: the cloud runs the operation from when
    // it took the call (after any wait for the account's budget), and a look due before that much of
    // its typical time has passed comes just before it can be done.
    const started = (handle: string | null) => {
      const answered = this.clock.now();
      this.remember(cluster.id, key, answered.getTime());
      return settleStarted(cluster, key, handle, groups, answered, this.policy);
    };
    switch (step.kind) {
      case 'wait':
        return settleWait(cluster, operation?.done === true, now, this.policy, false, this.elapsedMs(cluster, now));
      case 'done':
        return settleDone(cluster, step, groups, now);
      case 'fail':
        return settleFailed(cluster, step.reasons, groups, now);
      case 'check-version': {
        const offered = await this.offeredVersions(cluster, cloud, signal);
        if (offered.includes(cluster.spec.kubernetesVersion)) return settleWait({ ...cluster, versionOffered: true }, false, now, this.policy, true);
        const where = 'region' in cluster.place ? cluster.place.region : cluster.place.location;
        const message = `${cluster.provider} offers ${offered.length === 0 ? 'no version' : offered.join(', ')} in ${where}, not ${cluster.spec.kubernetesVersion}`;
        return settleFailed(cluster, [reason('cloud-version-not-offered', message, 'kubernetesVersion')], groups, now);
      }
      case 'create-cluster':
        return started(await cloud.createCluster(target, cluster.spec, cluster.nodeGroups, token, signal));
      case 'create-node-group': {
        const settled = started(await cloud.createNodeGroup(target, cluster.spec, step.group, token, signal));
        // The control plane it was started on, kept for the create's next looks (controlPlaneSeenReady).
        return seen === null || cluster.work?.kind !== 'create' ? settled : { ...settled, next: { ...settled.next, observedVersion: seen.version, endpoint: seen.endpoint } };
      }
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

  /** A step that started cloud work, to time it (bounded: a cluster that is never looked at again is forgotten first). */
  private remember(clusterId: string, step: string, at: number, kind: OperationKind | null = operationKindOf(step)): void {
    this.started.delete(clusterId);
    setAtMost(this.started, clusterId, { step, kind, at }, MAX_STEPS_TIMED);
  }

  /**
   * The versions the cloud offers where the cluster goes. One answer serves every cluster of the
   * account and place for a while (a fleet is created in the same few places); a version not in
   * it is asked about again before a create is refused for it.
   */
  private async offeredVersions(cluster: ManagedCluster, cloud: AccountLifecycle, signal: AbortSignal): Promise<string[]> {
    const key = `${cluster.provider}\n${cluster.credentialRef}\n${JSON.stringify(cluster.place)}`;
    const now = this.clock.now().getTime();
    const known = this.offered.get(key);
    if (known !== undefined && known.until > now) {
      // A fleet's first round asks for many clusters of one place at once: they share the question under way.
      const versions = await known.versions.catch(() => undefined);
      if (versions?.includes(cluster.spec.kubernetesVersion) === true) return versions;
    }
    const asked = cloud.offeredVersions(cluster.place, signal);
    const entry = { versions: asked, until: now + (this.settings.offeredVersionsTtlMs ?? OFFERED_VERSIONS_TTL_MS) };
    setAtMost(this.offered, key, entry, MAX_OFFERED_VERSION_ANSWERS);
    // A failed answer is not kept: the next cluster asks again.
    asked.catch(() => {
      if (this.offered.get(key) === entry) this.offered.delete(key);
    });
    return asked;
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
      return settleTransient(cluster, reason('cloud-failed', message), groups, now, this.policy);
    }
    const why = reason(error.code, error.message, error.field);
    if (!isTransientCloudError(error.code)) return settleFailed(cluster, [why], groups, now);
    if (error.code === 'cloud-throttled') {
      const current = await this.clusters.gate(cluster.provider, cluster.credentialRef);
      const notBefore = closeGate(current, now, error.retryAfterMs, this.settings.throttleFallbackMs);
      await this.clusters.closeGate(cluster.provider, cluster.credentialRef, notBefore);
      this.logger.log({ msg: 'cloud throttled: account gate closed', provider: cluster.provider, credentialRef: cluster.credentialRef, notBefore: notBefore.toISOString() });
      return settleThrottled(cluster, why, heldUntil(notBefore, now, cluster.id), now, this.policy);
    }
    return settleTransient(cluster, why, groups, now, this.policy);
  }

  /**
   * Records the step under its claim, with its events: a claim taken over (lease ran out) records
   * nothing. One statement writes the state, what was seen of the node groups and the events'
   * outbox rows; a ready cluster's also writes its connected record, in a transaction under the
   * advisory lock every writer of that record takes first.
   */
  private async record(claimed: ManagedCluster, claimId: string, settled: Settled, groups: ObservedCloudNodeGroup[] | null): Promise<void> {
    const save = () =>
      this.unitOfWork.writeWithEvents(
        settled.events.map((event) => toEmit(claimed.id, event)),
        (outboxRows) => this.clusters.saveStateUnderClaim(settled.next, claimId, claimed.generation, groups ?? [], outboxRows),
      );
    const ready = settled.events.find((event) => event.type === 'ClusterReady');
    const saved =
      ready === undefined
        ? await save()
        : await this.unitOfWork.run(async () => {
            await this.clusters.lockCluster(claimed.id);
            if (!(await save())) return false;
            // From now on the cluster is re-checked like an import, through the same cloud account.
            const now = this.clock.now();
            const record = connectedRecordOf(settled.next, { version: ready.data.kubernetesVersion, nodeCount: ready.data.nodeCount }, now);
            await this.connected.saveImported(record, new Date(now.getTime() + this.settings.firstSyncAfterMs));
            return true;
          });
    if (!saved) {
      this.logger.log({ msg: 'step result dropped: the cluster changed meanwhile', clusterId: claimed.id });
    } else if (settled.events.length > 0 && (settled.next.step !== claimed.step || settled.next.work === null)) {
      this.logger.log({ msg: 'managed cluster step', clusterId: claimed.id, phase: settled.next.phase, step: settled.next.step, work: settled.next.work?.kind ?? null, reasons: settled.next.reasons.map((r) => r.code) });
    }
  }
}

/** A step's event as the bus carries it. The importer consumes its own ClusterDeleted too: the connected record is tombstoned then. */
function toEmit(clusterId: string, event: ManagedEvent): EventToEmit {
  switch (event.type) {
    case 'ClusterProgress':
      return { definition: ClusterProgress, subject: clusterId, data: event.data };
    case 'ClusterReady':
      return { definition: ClusterReady, subject: clusterId, data: event.data };
    case 'ClusterProvisioningFailed':
      return { definition: ClusterProvisioningFailed, subject: clusterId, data: event.data };
    case 'NodePoolScaled':
      return { definition: NodePoolScaled, subject: clusterId, data: event.data };
    case 'ClusterUpgraded':
      return { definition: ClusterUpgraded, subject: clusterId, data: event.data };
    case 'UpgradeStepFailed':
      return { definition: UpgradeStepFailed, subject: clusterId, data: event.data };
    case 'ClusterDeleted':
      return { definition: ClusterDeleted, subject: clusterId, data: event.data };
  }
}

/**
 * Whether the next step of this work can depend on the node groups: a cluster still being created
 * (or not there) has none to look at, so they are not read for it.
 */
function nodeGroupsMatter(cluster: ManagedCluster, observed: ObservedCloudCluster | null): boolean {
  if (observed === null) return false;
  return cluster.work?.kind !== 'create' || observed.state === 'ready';
}

/**
 * The control plane of a create whose node groups are coming up, as it was seen ready when they
 * were started (its version and endpoint, kept then): it is not read again until they are up, only
 * they are. At EKS a read of the cluster is a call of its own, and the node groups' last look is
 * two calls instead of three within the account's limit. A look after a failure reads it again.
 */
function controlPlaneSeenReady(cluster: ManagedCluster): ObservedCloudCluster | null {
  if (cluster.work?.kind !== 'create' || cluster.step?.startsWith('create-node-group/') !== true || cluster.failures > 0 || cluster.observedVersion === null) return null;
  return { state: 'ready', version: cluster.observedVersion, endpoint: cluster.endpoint, owner: cluster.id, failure: null };
}

/** A create whose first step is still to be taken: nothing was asked of the cloud for it (a create asked before a crash is found by the create itself). */
const firstOfCreate = (cluster: ManagedCluster) => cluster.work?.kind === 'create' && cluster.step === null && cluster.operation === null;

/**
 * The node groups a look needs when it needs no others: those being created (their cluster's
 * other groups, if any, do not change what comes next), and none while the control plane is the
 * step (no group was asked for yet; one a crash left behind is met and taken over by its create).
 * A cloud with no call that lists them described (EKS) then describes only these.
 */
function groupsWanted(cluster: ManagedCluster): string[] | undefined {
  if (cluster.work?.kind !== 'create') return undefined;
  if (cluster.step === 'create-cluster') return [];
  return cluster.step?.startsWith('create-node-group/') === true ? cluster.nodeGroups.map((group) => group.name) : undefined;
}

/** Steps that start cloud work and can follow one another in one look. */
const startsAtOnce = (step: Step) => step.kind === 'create-cluster' || step.kind === 'create-node-group';

/** What the cloud has after `step`, as far as the next step needs to know: null when it must be looked at again. */
function followingObservation(step: Step, next: ManagedCluster, observed: Observation): Observation | null {
  if (next.work === null) return null;
  switch (step.kind) {
    case 'check-version':
      return next.versionOffered ? { cluster: observed.cluster, nodeGroups: observed.nodeGroups } : null;
    case 'create-node-group': {
      if (!PARALLEL_NODE_GROUPS.has(next.provider)) return null;
      const { group } = step;
      const creating: ObservedCloudNodeGroup = { name: group.name, state: 'creating', version: null, instanceType: group.instanceType, minSize: group.minSize, maxSize: group.maxSize, desiredSize: group.desiredSize, failure: null };
      return { cluster: observed.cluster, nodeGroups: [...observed.nodeGroups.filter((other) => other.name !== group.name), creating] };
    }
    default:
      return null;
  }
}

/** Several steps taken at once each say where the cluster stands: the last one says it for all. */
function lastProgressOnly(events: ManagedEvent[]): ManagedEvent[] {
  const last = events.findLastIndex((event) => event.type === 'ClusterProgress');
  return events.filter((event, index) => event.type !== 'ClusterProgress' || index === last);
}
