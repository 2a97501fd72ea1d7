import { Logger, type Provider } from '@nestjs/common';
import { AuditTrail } from '@flotilla/auth';
import { UnitOfWork } from '@flotilla/messaging';
import { SecretStore } from '@flotilla/secrets';
import { DataSource } from 'typeorm';
import { HostChecks1732300003000 } from './1732300003000-host-checks.js';
import { HostOwnership1732300019100 } from './1732300019100-host-ownership.js';
import { HostIdentity1732300019200 } from './1732300019200-host-identity.js';
import { HostOwnership } from './host-ownership.js';
import { HOST_ENTITIES } from './host-checks.entity.js';
import { HostRecords } from './host-records.js';
import { HostsController } from './hosts.controller.js';
import { JoinSecretsRepository } from '../bootstrap/join-secrets.repository.js';
import { SshKeysController } from './ssh-keys.controller.js';
import { SshKeys } from './ssh-keys.js';
import { DEFAULT_SSH_TIMEOUTS } from './ssh-session.js';
import { TenantClusters } from '../hosted/tenant-clusters.js';
import { SshBootstrapper } from './ssh.bootstrapper.js';

/** What the provisioner module adds for users' hosts: tables, controllers and providers (JoinSecretsRepository and SecretStore come from the module). */
export const hostsMigrations = [HostChecks1732300003000, HostOwnership1732300019100, HostIdentity1732300019200];
export const hostsEntities = HOST_ENTITIES;
export const hostsControllers = [SshKeysController, HostsController];
export const hostsProviders: Provider[] = [
  HostOwnership,
  { provide: HostRecords, inject: [DataSource], useFactory: (dataSource: DataSource) => new HostRecords(dataSource) },
  { provide: SshKeys, inject: [UnitOfWork, SecretStore], useFactory: (unitOfWork: UnitOfWork, store: SecretStore) => new SshKeys(unitOfWork, store) },
  {
    provide: SshBootstrapper,
    inject: [SshKeys, HostRecords, JoinSecretsRepository, AuditTrail, TenantClusters],
    useFactory: (keys: SshKeys, records: HostRecords, joinSecrets: JoinSecretsRepository, audit: AuditTrail, tenants: TenantClusters) =>
      new SshBootstrapper(keys, records, joinSecrets, audit, new Logger(SshBootstrapper.name), DEFAULT_SSH_TIMEOUTS, tenants),
  },
];
