import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { ClusterRequested, type EventOf } from '@flotilla/contracts';
import { OnEvent, PermanentError, type JetStreamContext } from '@flotilla/messaging';
import { Clock, PolicyInForce } from '@flotilla/service-kit';
import { decide, evolve, ProvisionerError, refuseForHosts, refuseForPlacement, type ClusterEvent, type ClusterState } from '../domain/cluster/index.js';
import { HostOwnership, requestedHosts } from '../hosts/host-ownership.js';
import { controlPlaneIsHosted } from '../domain/machine-plan.js';
import { CONTROL_PLANE_PLACEMENT, type ControlPlanePlacement } from '../hosted/control-plane-placement.js';
import { INFRASTRUCTURE_PROVIDER, type InfrastructureProvider } from '../infrastructure/provider.js';
import { ClusterRepository } from '../repositories/cluster.repository.js';
import { IntegrationEvents } from '../repositories/integration-events.js';

/**
 * A cluster request, from the inventory API or anyone on the bus. Records the cluster and its
 * Pending machines (or its refusal, with every reason) in the batch's transaction; the machines
 * themselves are made by the reconciler, never here: a batch holds one transaction open. A
 * hosted control plane is placed here too: no room in a management cluster refuses the request.
 * Public-cloud requests are the importer's and are acknowledged without a word.
 */
@Controller()
export class ClusterRequestedHandler {
  private readonly logger = new Logger(ClusterRequestedHandler.name);

  constructor(
    @Inject(ClusterRepository) private readonly clusters: ClusterRepository,
    @Inject(IntegrationEvents) private readonly integration: IntegrationEvents,
    @Inject(INFRASTRUCTURE_PROVIDER) private readonly provider: InfrastructureProvider,
    @Inject(PolicyInForce) private readonly policy: PolicyInForce,
    @Inject(CONTROL_PLANE_PLACEMENT) private readonly placement: ControlPlanePlacement,
    @Inject(HostOwnership) private readonly hosts: HostOwnership,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  @OnEvent(ClusterRequested)
  async onRequested(@Payload() event: EventOf<typeof ClusterRequested>, @Ctx() ctx: JetStreamContext): Promise<void> {
    const clusterId = event.subject;
    // The importer creates public-cloud clusters at their cloud and answers for them: nothing here,
    // not even a refusal the inventory would show.
    if (event.data.model === 'public-cloud') {
      this.logger.log({ msg: 'public-cloud cluster: the importer answers; nothing to do', clusterId, eventId: event.id });
      return;
    }
    // No lock: an existing cluster is never changed here, and a new one is claimed by its insert.
    const current = await this.clusters.find(clusterId);
    let events: ClusterEvent[];
    try {
      // Judged by the policy in force now (the bucket's revision and release), recorded with the decision.
      const { matrix, release } = this.policy.current();
      events = decide({ type: 'RequestCluster', clusterId, spec: event.data, release, matrix, providers: [this.provider.name], at: event.time }, current);
    } catch (error) {
      // A second, different request for an existing cluster: dead-lettered, and the publisher
      // hears of it through EventRejected. The cluster itself is left alone.
      if (error instanceof ProvisionerError) throw new PermanentError(error.message, error.code);
      throw error;
    }
    if (events.length === 0) {
      this.logger.log({ msg: 'cluster already requested; nothing to do', clusterId, eventId: event.id, delivery: ctx.getDeliveryCount() });
      // The same request again: answered with where the cluster stands.
      if (current) this.integration.reportProgress(new Map(), new Map([[clusterId, current]]), event.id);
      return;
    }
    const accepted = events[0];
    if (accepted?.type === 'ClusterAccepted' && controlPlaneIsHosted(accepted.spec)) {
      // Room for the control plane in a management cluster, reserved in this transaction: it
      // commits with the cluster, or neither does.
      const placed = await this.placement.reserve(clusterId, accepted.spec);
      // Its endpoint comes with its TenantControlPlane's readiness (the hosted reconciler), not before.
      if (!placed.ok) events = [refuseForPlacement(accepted, placed.code, placed.message)];
    }
    const taken = events[0];
    if (taken?.type === 'ClusterAccepted') {
      // Users' hosts (and spares) become this cluster's in this transaction, unless another cluster has one.
      const others = await this.hosts.claim(clusterId, requestedHosts(taken.spec));
      if (others.length > 0) {
        this.logger.warn({ msg: 'hosts of another cluster refused', clusterId, hosts: others.map((host) => `${host.field}: ${host.address}:${host.port} (${host.clusterId})`) });
        events = [refuseForHosts(taken, others)];
      }
    }
    const next = events.reduce<ClusterState | undefined>(evolve, current);
    // Two requests for a new id in flight at once: the loser retries and then sees the winner's.
    if (next && !(await this.clusters.insert(next, this.clock.now()))) throw new Error(`cluster "${clusterId}" was created concurrently; retrying`);
    await this.integration.publish(events);
    // Taken up: the progress names the request (a refusal is answered by ClusterProvisioningFailed).
    if (next && events[0]?.type === 'ClusterAccepted') this.integration.reportProgress(new Map(), new Map([[clusterId, next]]), event.id);
  }
}
