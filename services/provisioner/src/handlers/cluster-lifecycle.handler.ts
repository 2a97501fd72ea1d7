import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ClusterDeletionRequested, NodePoolScaleRequested, UpgradeStepApproved, type EventOf } from '@flotilla/contracts';
import { OnEvent, PermanentError } from '@flotilla/messaging';
import { Clock, PolicyInForce } from '@flotilla/service-kit';
import { PROVISIONER_CONFIG, type ProvisionerConfig } from '../config.js';
import { decide, evolve, hostTakenMessage, ProvisionerError, type ClusterCommand, type ClusterEvent, type ClusterState } from '../domain/cluster/index.js';
import { HostOwnership } from '../hosts/host-ownership.js';
import { changesBetween } from '../reconciler/machine-writes.js';
import { logEvent } from '../reconciler/machine-reconciler.js';
import { ClusterRepository } from '../repositories/cluster.repository.js';
import { IntegrationEvents } from '../repositories/integration-events.js';

/**
 * Requests about an existing cluster: scale a node pool, delete the cluster, take an approved
 * upgrade step. Each locks the cluster, decides, and records the new machines (queued for the
 * reconciler), the machines to release and the operation in the batch's transaction; the
 * reconciler does the work at the provider. A request that can never apply (unknown cluster or
 * pool, a busy cluster, hosts that do not match `count`) is dead-lettered with its reason and
 * the publisher hears of it through EventRejected; an upgrade step the version policy refuses is
 * answered with UpgradeStepFailed.
 */
@Controller()
export class ClusterLifecycleHandler {
  private readonly logger = new Logger(ClusterLifecycleHandler.name);

  constructor(
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(IntegrationEvents) private readonly integration: IntegrationEvents,
    @Inject(PROVISIONER_CONFIG) private readonly config: ProvisionerConfig,
    @Inject(PolicyInForce) private readonly policy: PolicyInForce,
    @Inject(HostOwnership) private readonly hosts: HostOwnership,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @OnEvent(NodePoolScaleRequested)
  async onScale(@Payload() event: EventOf<typeof NodePoolScaleRequested>): Promise<void> {
    const { pool, count, hosts } = event.data;
    await this.handle({ type: 'ScaleNodePool', clusterId: event.subject, pool, count, ...(hosts ? { hosts } : {}), at: this.now() }, event.id);
  }

  @OnEvent(ClusterDeletionRequested)
  async onDeletion(@Payload() event: EventOf<typeof ClusterDeletionRequested>): Promise<void> {
    await this.handle({ type: 'RequestDeletion', clusterId: event.subject, ...(event.data.reason === undefined ? {} : { reason: event.data.reason }), at: this.now() }, event.id);
  }

  @OnEvent(UpgradeStepApproved)
  async onUpgradeStep(@Payload() event: EventOf<typeof UpgradeStepApproved>): Promise<void> {
    const { planId, toVersion } = event.data;
    const { matrix, release } = this.policy.current();
    await this.handle({ type: 'ApproveUpgradeStep', clusterId: event.subject, planId, toVersion, release, matrix, at: this.now() }, event.id);
  }

  /** A scale-up's hosts become the cluster's in this transaction; one another cluster holds refuses the request. */
  private async claimHosts(command: Exclude<ClusterCommand, { type: 'RequestCluster' | 'ObserveMachine' }>, events: readonly ClusterEvent[]): Promise<void> {
    if (command.type !== 'ScaleNodePool' || !command.hosts?.length || !events.some((event) => event.type === 'MachinesAdded')) return;
    const taken = await this.hosts.claim(
      command.clusterId,
      command.hosts.map((host, index) => ({ address: host.address, port: host.port, field: `hosts.${index}.address`, hostKey: host.hostKeyFingerprint })),
    );
    const first = taken[0];
    if (first) throw new ProvisionerError('host-in-another-cluster', taken.map(hostTakenMessage).join('; '), first.field);
  }

  /** When a request is taken up: the provisioner's clock, not the publisher's. */
  private now(): string {
    return this.clock.now().toISOString();
  }

  /** `requestEventId`: the request's event id, which the ClusterProgress answering it names. */
  private async handle(command: Exclude<ClusterCommand, { type: 'RequestCluster' | 'ObserveMachine' }>, requestEventId: string): Promise<void> {
    const { clusterId } = command;
    // Locked: the reconciler records observations about the same cluster under the same lock.
    const before = await this.clusters.lockMany([clusterId]);
    const state = before.get(clusterId);
    let events: ClusterEvent[];
    try {
      events = decide(command, state);
      await this.claimHosts(command, events);
    } catch (error) {
      if (error instanceof ProvisionerError) {
        this.logger.warn({ msg: 'request refused', clusterId, command: command.type, code: error.code, error: error.message });
        throw new PermanentError(error.field ? `${error.field}: ${error.message}` : error.message, error.code);
      }
      throw error;
    }
    if (events.length === 0 || !state) {
      this.logger.log({ msg: 'nothing to do', clusterId, command: command.type });
      // Already done or under way: the request is answered all the same.
      if (state) this.integration.reportProgress(before, before, requestEventId);
      return;
    }
    const after = events.reduce<ClusterState>(evolve, state);
    await this.hosts.afterEvents(before, events);
    await this.clusters.saveChanges(changesBetween(before, new Map([[clusterId, after]]), new Date(command.at), this.config.MHC_CHECK_INTERVAL_MS));
    await this.integration.publish(events);
    // Taken up: the progress names the request. A refused step is answered by UpgradeStepFailed.
    const refused = events.every((event) => event.type === 'UpgradeStepRejected');
    this.integration.reportProgress(before, new Map([[clusterId, after]]), refused ? undefined : requestEventId);
    for (const event of events) logEvent(this.logger, event);
  }
}
