import { Module, type DynamicModule } from '@nestjs/common';
import { SecretsModule, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { Clock, PolicyModule, ServiceKitModule } from '@flotilla/service-kit';
import { DataSource } from 'typeorm';
import { JOIN_MATERIAL_ISSUER, type JoinMaterialIssuer } from './bootstrap/join-material-issuer.js';
import { KubeconfigController } from './access/kubeconfig.controller.js';
import { KubeconfigIssuer } from './access/kubeconfig-issuer.js';
import { JoinSecretsRepository } from './bootstrap/join-secrets.repository.js';
import { NODE_BOOTSTRAPPER, type NodeBootstrapper } from './bootstrap/node-bootstrapper.js';
import { PROVISIONER_CONFIG, type ProvisionerConfig } from './config.js';
import { ClusterEntity } from './entities/cluster.entity.js';
import { MachineEntity } from './entities/machine.entity.js';
import { ClusterLifecycleHandler } from './handlers/cluster-lifecycle.handler.js';
import { ClusterRequestedHandler } from './handlers/cluster-requested.handler.js';
import { CONTROL_PLANE_PLACEMENT, type ControlPlanePlacement } from './hosted/control-plane-placement.js';
import { HostedClusterNodes } from './hosted/hosted-nodes.js';
import { hostedControllers, hostedEntities, hostedMigrations, hostedProviders, hostedReconcilerProviders, TenantClusters } from './hosted/index.js';
import { hostsControllers, hostsEntities, hostsMigrations, hostsProviders } from './hosts/hosts.providers.js';
import { SshBootstrapper } from './hosts/ssh.bootstrapper.js';
import { ProvisionerClustersController } from './http/clusters.controller.js';
import { INFRASTRUCTURE_PROVIDER, type InfrastructureProvider } from './infrastructure/provider.js';
import { SimulatedClusters } from './infrastructure/simulated/simulated-clusters.js';
import { SimulatedNodeHealth } from './infrastructure/simulated/simulated-node-health.js';
import { SimulatedProvider } from './infrastructure/simulated/simulated.provider.js';
import { ProvisionerTables1732300002000 } from './migrations/1732300002000-provisioner-tables.js';
import { SimulatedCloud1732300002100 } from './migrations/1732300002100-simulated-cloud.js';
import { SimBootstrapData1732300003500 } from './migrations/1732300003500-sim-bootstrap-data.js';
import { ClusterLifecycle1732300007000 } from './migrations/1732300007000-cluster-lifecycle.js';
import { SimulatedNodeHealth1732300007100 } from './migrations/1732300007100-simulated-node-health.js';
import { ClusterPolicyRevision1732300015500 } from './migrations/1732300015500-cluster-policy-revision.js';
import { SimJoinMaterial1732300017100 } from './migrations/1732300017100-sim-join-material.js';
import { ClusterApiServerEndpoint1732300018000 } from './migrations/1732300018000-cluster-api-server-endpoint.js';
import { SimEndpoints1732300018100 } from './migrations/1732300018100-sim-endpoints.js';
import { MachineRemediation1732300019000 } from './migrations/1732300019000-machine-remediation.js';
import { MachineQueueOrder1732300020000 } from './migrations/1732300020000-machine-queue-order.js';
import { DropClustersPhase1732300021000 } from './migrations/1732300021000-drop-clusters-phase.js';
import { SimLiveControlPlane1732300022000 } from './migrations/1732300022000-sim-live-control-plane.js';
import { MachineReconciler } from './reconciler/machine-reconciler.js';
import { ClusterRepository } from './repositories/cluster.repository.js';
import { IntegrationEvents } from './repositories/integration-events.js';
import { MachineQueue } from './repositories/machine-queue.repository.js';

function infrastructureProvider(config: ProvisionerConfig, dataSource: DataSource): InfrastructureProvider {
  switch (config.INFRA_PROVIDER) {
    case 'simulated':
      return new SimulatedProvider(dataSource, { bootMs: config.SIM_BOOT_MS, failureRate: config.SIM_FAILURE_RATE, apiErrorRate: config.SIM_API_ERROR_RATE, apiLatencyMs: config.SIM_API_LATENCY_MS, seed: config.SIM_SEED });
  }
}

/** Where platform clusters get join material once they run: their API (the simulated cloud's clusters here). */
function joinMaterialIssuer(config: ProvisionerConfig, simulated: SimulatedClusters): JoinMaterialIssuer {
  switch (config.INFRA_PROVIDER) {
    case 'simulated':
      return simulated;
  }
}

function nodeBootstrapper(config: ProvisionerConfig, dataSource: DataSource, simulated: SimulatedClusters): NodeBootstrapper {
  switch (config.INFRA_PROVIDER) {
    case 'simulated':
      return new SimulatedNodeHealth(dataSource, { seed: config.SIM_SEED, unhealthyRate: config.SIM_UNHEALTHY_RATE }, simulated);
  }
}

/** Machines users bring are looked after over SSH; the platform's machines by their provider's bootstrap. */
export function byMachineSource(hosts: NodeBootstrapper, platform: NodeBootstrapper): NodeBootstrapper {
  const pick = (node: { host: unknown }) => (node.host ? hosts : platform);
  return {
    joinNode: (request) => pick(request).joinNode(request),
    nodeReady: (node) => pick(node).nodeReady(node),
    upgradeNode: (request) => pick(request).upgradeNode(request),
    removeNode: (node, options) => pick(node).removeNode(node, options),
    rebootNode: (node) => pick(node).rebootNode(node),
  };
}

/** Implementations of the ports that others provide; the defaults above when absent. */
export interface ProvisionerPorts {
  placement?: ControlPlanePlacement;
  bootstrapper?: NodeBootstrapper;
  /** The time every decision and queue entry is made at; tests move it to cross timeouts and lifetimes. */
  clock?: Clock;
}

@Module({})
export class ProvisionerModule {
  static register(config: ProvisionerConfig, ports: ProvisionerPorts = {}): DynamicModule {
    return {
      module: ProvisionerModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'provisioner',
          config,
          migrations: [
            ProvisionerTables1732300002000,
            SimulatedCloud1732300002100,
            ...hostsMigrations,
            ...hostedMigrations,
            SimBootstrapData1732300003500,
            ...secretsMigrations,
            ClusterLifecycle1732300007000,
            SimulatedNodeHealth1732300007100,
            ClusterPolicyRevision1732300015500,
            SimJoinMaterial1732300017100,
            ClusterApiServerEndpoint1732300018000,
            SimEndpoints1732300018100,
            MachineRemediation1732300019000,
            MachineQueueOrder1732300020000,
            DropClustersPhase1732300021000,
            SimLiveControlPlane1732300022000,
          ],
          entities: [ClusterEntity, MachineEntity, ...hostsEntities, ...hostedEntities, ...secretsEntities],
        }),
        SecretsModule.forRoot({ keys: config.SECRETS_KEYS }),
        PolicyModule.forRoot({ naming: { prefix: config.BUS_PREFIX } }),
      ],
      controllers: [ClusterRequestedHandler, ClusterLifecycleHandler, ProvisionerClustersController, KubeconfigController, ...hostsControllers, ...hostedControllers],
      providers: [
        { provide: PROVISIONER_CONFIG, useValue: config },
        ports.clock ? { provide: Clock, useValue: ports.clock } : Clock,
        { provide: INFRASTRUCTURE_PROVIDER, inject: [DataSource], useFactory: (dataSource: DataSource) => infrastructureProvider(config, dataSource) },
        { provide: SimulatedClusters, inject: [DataSource, Clock], useFactory: (dataSource: DataSource, clock: Clock) => new SimulatedClusters(dataSource, clock) },
        { provide: JOIN_MATERIAL_ISSUER, inject: [SimulatedClusters], useFactory: (simulated: SimulatedClusters) => joinMaterialIssuer(config, simulated) },
        {
          provide: NODE_BOOTSTRAPPER,
          inject: [DataSource, SshBootstrapper, SimulatedClusters, TenantClusters],
          useFactory: (dataSource: DataSource, ssh: SshBootstrapper, simulated: SimulatedClusters, tenants: TenantClusters) =>
            // Hosted clusters' nodes are looked at in the hosted cluster's own API.
            ports.bootstrapper ?? new HostedClusterNodes(tenants, ssh, byMachineSource(ssh, nodeBootstrapper(config, dataSource, simulated))),
        },
        // Management clusters registered over HTTP host the control planes, unless a test brings its own placement.
        ...(ports.placement ? [...hostedProviders, { provide: CONTROL_PLANE_PLACEMENT, useValue: ports.placement }] : hostedProviders),
        JoinSecretsRepository,
        KubeconfigIssuer,
        ...hostsProviders,
        ClusterRepository,
        MachineQueue,
        IntegrationEvents,
        MachineReconciler,
        ...hostedReconcilerProviders,
      ],
    };
  }
}
