import { Module, type DynamicModule } from '@nestjs/common';
import { defaultSupportMatrix } from '@flotilla/contracts';
import { Clock, ServiceKitModule } from '@flotilla/service-kit';
import type { ImporterConfig } from './config.js';
import { CLUSTER_PROBE, type ClusterProbe } from './connectivity/cluster-probe.js';
import { UnavailableClusterProbe } from './connectivity/unavailable-cluster-probe.js';
import { CREDENTIAL_STORE } from './credentials/credential-store.js';
import { TableCredentialStore } from './credentials/table-credential-store.js';
import type { OnboardingPolicy } from './domain/connected-cluster.js';
import { ClusterTunnelEntity } from './entities/cluster-tunnel.entity.js';
import { ConnectedClusterEntity } from './entities/connected-cluster.entity.js';
import { CredentialEntity } from './entities/credential.entity.js';
import { ImportRequestsHandler } from './handlers/import-requests.handler.js';
import { TunnelEventsHandler } from './handlers/tunnel-events.handler.js';
import { ConnectedClustersController } from './http/connected-clusters.controller.js';
import { ImportsController } from './http/imports.controller.js';
import { ImporterTables1732300002000 } from './migrations/1732300002000-importer-tables.js';
import { ClusterTunnelRepository } from './repositories/cluster-tunnel.repository.js';
import { ConnectedClusterRepository } from './repositories/connected-cluster.repository.js';
import { IMPORT_WORKER_SETTINGS, ImportWorker, ONBOARDING_POLICY, type ImportWorkerSettings } from './workers/import-worker.js';

export interface ImporterModuleOverrides {
  /** Another ClusterProbe (tests use a scripted one to reach the import path end to end). */
  probe?: ClusterProbe;
}

@Module({})
export class ImporterModule {
  static register(config: ImporterConfig, overrides: ImporterModuleOverrides = {}): DynamicModule {
    const policy: OnboardingPolicy = { release: config.PLATFORM_RELEASE, matrix: defaultSupportMatrix };
    const worker: ImportWorkerSettings = {
      pollIntervalMs: config.IMPORT_POLL_INTERVAL_MS,
      concurrency: config.IMPORT_CHECK_CONCURRENCY,
      probeTimeoutMs: config.IMPORT_PROBE_TIMEOUT_MS,
      checkLeaseMs: config.IMPORT_CHECK_LEASE_MS,
    };
    return {
      module: ImporterModule,
      imports: [
        ServiceKitModule.forRoot({
          service: 'importer',
          config,
          migrations: [ImporterTables1732300002000],
          entities: [ConnectedClusterEntity, ClusterTunnelEntity, CredentialEntity],
        }),
      ],
      controllers: [ImportRequestsHandler, TunnelEventsHandler, ConnectedClustersController, ImportsController],
      providers: [
        Clock,
        ConnectedClusterRepository,
        ClusterTunnelRepository,
        { provide: CREDENTIAL_STORE, useClass: TableCredentialStore },
        // The real check over @kubernetes/client-node replaces this binding when it exists.
        { provide: CLUSTER_PROBE, useValue: overrides.probe ?? new UnavailableClusterProbe() },
        { provide: ONBOARDING_POLICY, useValue: policy },
        { provide: IMPORT_WORKER_SETTINGS, useValue: worker },
        ImportWorker,
      ],
    };
  }
}
