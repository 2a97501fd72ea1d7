import { Module, type DynamicModule } from '@nestjs/common';
import { ServiceIdentity } from '@flotilla/auth';
import { secretsEntities, secretsMigrations, SecretsModule } from '@flotilla/secrets';
import { Clock, PolicyInForce, PolicyModule, ServiceKitModule } from '@flotilla/service-kit';
import { ClusterProxy } from './access/cluster-proxy.js';
import { ConnectedClusterKubeconfigController } from './access/kubeconfig.controller.js';
import { ClusterProxyController } from './access/proxy.controller.js';
import { PUBLIC_ADDRESS, publicAddressOf } from './access/public-address.js';
import type { ImporterConfig } from './config.js';
import { CloudAccess as CloudProviders } from './clouds/cloud-access.js';
import { CLOUD_ACCOUNT_SECRETS, CloudAccountsController } from './clouds/cloud-accounts.controller.js';
import { cloudSettingsFrom, type CloudSettings } from './clouds/settings.js';
import { CLOUD_ACCESS, ClusterEndpoints, SdkCloudAccess, type CloudAccess } from './connectivity/cluster-access.js';
import { CLUSTER_PROBE, type ClusterProbe } from './connectivity/cluster-probe.js';
import { KubernetesClusterProbe } from './connectivity/kubernetes-cluster-probe.js';
import { SERVICE_TOKEN, TUNNEL_BROKER_SETTINGS, TunnelEndpoints, type ServiceToken } from './connectivity/tunnel-access.js';
import { tunnelBrokerSettings } from './connectivity/tunnel-config.js';
import { CREDENTIAL_STORE } from './credentials/credential-store.js';
import { CloudAccountSecretsFromCredentials, SecretCredentialStore } from './credentials/secret-credential-store.js';
import type { OnboardingPolicy } from './domain/connected-cluster.js';
import { ClusterTunnelEntity } from './entities/cluster-tunnel.entity.js';
import { ConnectedClusterEntity } from './entities/connected-cluster.entity.js';
import { CredentialEntity } from './entities/credential.entity.js';
import { ImportRequestsHandler } from './handlers/import-requests.handler.js';
import { RegistrationEventsHandler } from './handlers/registration-events.handler.js';
import { TunnelEventsHandler } from './handlers/tunnel-events.handler.js';
import { ConnectedClustersController } from './http/connected-clusters.controller.js';
import { CredentialsController } from './http/credentials.controller.js';
import { ImportsController } from './http/imports.controller.js';
import { AdoptionController } from './managed/adoption.controller.js';
import { CloudLifecycles, sdkLifecycles } from './managed/lifecycles.js';
import { ManagedClusterRepository } from './managed/managed-cluster.repository.js';
import { ManagedDeletions } from './managed/managed-deletions.js';
import { CLOUD_LIFECYCLES, MANAGED_RECONCILER_SETTINGS, ManagedReconciler, type ManagedReconcilerSettings } from './managed/managed-reconciler.js';
import { ManagedRequestsHandler } from './managed/managed-requests.handler.js';
import { ImporterTables1732300002000 } from './migrations/1732300002000-importer-tables.js';
import { CredentialsAndSync1732300006000 } from './migrations/1732300006000-credentials-and-sync.js';
import { TunnelClusters1732300006300 } from './migrations/1732300006300-tunnel-clusters.js';
import { ManagedClusters1732300030000 } from './migrations/1732300030000-managed-clusters.js';
import { registrationControllers, registrationEntities, registrationMigrations, registrationProviders, registrationSettings } from './registration/index.js';
import { ClusterTunnelRepository } from './repositories/cluster-tunnel.repository.js';
import { ConnectedClusterRepository } from './repositories/connected-cluster.repository.js';
import { IMPORT_WORKER_SETTINGS, ImportWorker, ONBOARDING_POLICY, type ImportWorkerSettings, type OnboardingPolicySource } from './workers/import-worker.js';
import { SYNC_WORKER_SETTINGS, SyncWorker, type SyncWorkerSettings } from './workers/sync-worker.js';

export interface ImporterModuleOverrides {
  /** Another ClusterProbe instead of the one over @kubernetes/client-node. */
  probe?: ClusterProbe;
  /** Another way to reach EKS/AKS/GKE clusters than their SDKs. */
  cloudAccess?: CloudAccess;
  /** Where the cloud APIs are, instead of the CLOUD_* variables (tests point them at stand-ins). */
  cloudSettings?: CloudSettings;
  /** The importer's own token for the tunnel broker, instead of its service identity. */
  serviceToken?: ServiceToken;
  /** Other cloud lifecycles than the SDKs' (public cloud clusters the importer creates). */
  cloudLifecycles?: CloudLifecycles;
  /** The managed cloud clusters' reconciler, faster or slower than its defaults (tests). */
  managed?: Partial<ManagedReconcilerSettings>;
}


@Module({})
export class ImporterModule {
  static register(config: ImporterConfig, overrides: ImporterModuleOverrides = {}): DynamicModule {
    const worker: ImportWorkerSettings = {
      pollIntervalMs: config.IMPORT_POLL_INTERVAL_MS,
      concurrency: config.IMPORT_CHECK_CONCURRENCY,
      probeTimeoutMs: config.IMPORT_PROBE_TIMEOUT_MS,
      checkLeaseMs: config.IMPORT_CHECK_LEASE_MS,
      firstSyncAfterMs: config.SYNC_INTERVAL_MS,
      // Ten idle rounds: a tunnel the broker could not use is not hammered, nor left for long.
      tunnelRetryMs: config.IMPORT_POLL_INTERVAL_MS * 10,
    };
    const sync: SyncWorkerSettings = {
      intervalMs: config.SYNC_INTERVAL_MS,
      maxBackoffMs: config.SYNC_MAX_BACKOFF_MS,
      unreachableAfterFailures: config.SYNC_UNREACHABLE_AFTER_FAILURES,
      concurrency: config.SYNC_CONCURRENCY,
      checkTimeoutMs: config.SYNC_CHECK_TIMEOUT_MS,
      // A claim outlives the check's timeout, so a live check is never taken over.
      leaseMs: config.SYNC_CHECK_TIMEOUT_MS * 2 + 5_000,
      pollIntervalMs: Math.min(config.IMPORT_POLL_INTERVAL_MS, config.SYNC_INTERVAL_MS),
    };
    const managed: ManagedReconcilerSettings = {
      roundIntervalMs: config.IMPORT_POLL_INTERVAL_MS,
      concurrency: config.MANAGED_CONCURRENCY,
      // The clouds take minutes to create and upgrade: their state is looked at every 15 s meanwhile.
      pollIntervalMs: 15_000,
      retryBaseMs: 5_000,
      maxRetryMs: 300_000,
      // A step makes up to four calls (operation, cluster, node groups, the step itself), each bounded.
      stepTimeoutMs: config.CLOUD_REQUEST_TIMEOUT_MS * 4,
      leaseMs: config.CLOUD_REQUEST_TIMEOUT_MS * 8 + 5_000,
      throttleFallbackMs: 10_000,
      firstSyncAfterMs: config.SYNC_INTERVAL_MS,
      ...overrides.managed,
    };
    const cloudSettings = overrides.cloudSettings ?? cloudSettingsFrom(config);
    return {
      module: ImporterModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'importer',
          config,
          migrations: [
            ImporterTables1732300002000,
            ...secretsMigrations,
            CredentialsAndSync1732300006000,
            ...registrationMigrations,
            TunnelClusters1732300006300,
            ManagedClusters1732300030000,
          ],
          entities: [ConnectedClusterEntity, ClusterTunnelEntity, CredentialEntity, ...secretsEntities, ...registrationEntities],
        }),
        SecretsModule.forRoot({ keys: config.SECRETS_KEYS }),
        PolicyModule.forRoot({ naming: { prefix: config.BUS_PREFIX } }),
      ],
      controllers: [
        ImportRequestsHandler,
        TunnelEventsHandler,
        RegistrationEventsHandler,
        ConnectedClustersController,
        ConnectedClusterKubeconfigController,
        ClusterProxyController,
        ImportsController,
        CredentialsController,
        CloudAccountsController,
        ManagedRequestsHandler,
        AdoptionController,
        ...registrationControllers,
      ],
      providers: [
        Clock,
        ...registrationProviders(registrationSettings(config)),
        ConnectedClusterRepository,
        ClusterTunnelRepository,
        SecretCredentialStore,
        { provide: CREDENTIAL_STORE, useExisting: SecretCredentialStore },
        ClusterEndpoints,
        // Kubeconfigs and the proxy of directly reachable clusters, at Flotilla's public address.
        { provide: PUBLIC_ADDRESS, useValue: publicAddressOf(config) },
        ClusterProxy,
        // Clusters registered through the tunnel: the broker's proxy, with the importer's own token.
        { provide: TUNNEL_BROKER_SETTINGS, useValue: tunnelBrokerSettings(config) },
        // service:importer, signed by this replica's key (ServiceIdentity of @flotilla/auth, provided by the service kit).
        overrides.serviceToken ? { provide: SERVICE_TOKEN, useValue: overrides.serviceToken } : { provide: SERVICE_TOKEN, useExisting: ServiceIdentity },
        TunnelEndpoints,
        // EKS/AKS/GKE through their SDKs: endpoint, CA and a short-lived token for the probe.
        { provide: CloudProviders, useValue: CloudProviders.fromSettings(cloudSettings) },
        overrides.cloudAccess
          ? { provide: CLOUD_ACCESS, useValue: overrides.cloudAccess }
          : { provide: CLOUD_ACCESS, useFactory: (clouds: CloudProviders) => new SdkCloudAccess(clouds), inject: [CloudProviders] },
        { provide: CLOUD_ACCOUNT_SECRETS, useFactory: (credentials: SecretCredentialStore) => new CloudAccountSecretsFromCredentials(credentials), inject: [SecretCredentialStore] },
        overrides.probe ? { provide: CLUSTER_PROBE, useValue: overrides.probe } : { provide: CLUSTER_PROBE, useClass: KubernetesClusterProbe },
        {
          provide: ONBOARDING_POLICY,
          inject: [PolicyInForce],
          // One snapshot per decision: the release and the matrix always belong together.
          useFactory: (inForce: PolicyInForce): OnboardingPolicySource => ({
            current: (): OnboardingPolicy => {
              const { release, matrix } = inForce.current();
              return { release, matrix };
            },
          }),
        },
        { provide: IMPORT_WORKER_SETTINGS, useValue: worker },
        { provide: SYNC_WORKER_SETTINGS, useValue: sync },
        ImportWorker,
        SyncWorker,
        // Public cloud clusters the importer creates and runs (src/managed).
        ManagedClusterRepository,
        ManagedDeletions,
        { provide: CLOUD_LIFECYCLES, useValue: overrides.cloudLifecycles ?? new CloudLifecycles(sdkLifecycles(cloudSettings)) },
        { provide: MANAGED_RECONCILER_SETTINGS, useValue: managed },
        ManagedReconciler,
      ],
    };
  }
}
