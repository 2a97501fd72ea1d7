import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CredentialUse } from '@flotilla/auth';
import { MESSAGING_MIGRATIONS, UnitOfWork } from '@flotilla/messaging';
import { createTestSchema, randomSuffix, type TestSchema } from '@flotilla/messaging/testing';
import { KeyRing, SecretStore, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import type { ClusterSpec } from '@flotilla/contracts';
import { DataSource } from 'typeorm';
import { JoinSecretsRepository } from '../../src/bootstrap/join-secrets.repository.js';
import type { JoinRequest } from '../../src/bootstrap/node-bootstrapper.js';
import { planMachines } from '../../src/domain/machine-plan.js';
import { HOST_ENTITIES } from '../../src/hosts/host-checks.entity.js';
import { HostRecords } from '../../src/hosts/host-records.js';
import { hostsMigrations } from '../../src/hosts/hosts.providers.js';
import { SshKeys } from '../../src/hosts/ssh-keys.js';
import { SshBootstrapper } from '../../src/hosts/ssh.bootstrapper.js';
import { TestClock } from '../support/harness.js';
import type { TestSshd } from '../support/sshd.js';

/**
 * A test clock the stand-in tools of the test hosts follow too (give `file` to
 * `TestSshd.start({ clockFile })`): moving it moves the provisioner's time and the hosts'.
 */
export class HostsClock extends TestClock {
  private readonly dir = mkdtempSync(join(tmpdir(), 'flotilla-hosts-clock-'));
  readonly file = join(this.dir, 'offset-seconds');
  private aheadMs = 0;

  constructor() {
    super();
    writeFileSync(this.file, '0\n');
  }

  override advance(ms: number): void {
    super.advance(ms);
    this.aheadMs += ms;
    writeFileSync(this.file, `${Math.floor(this.aheadMs / 1000)}\n`);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Everything the SSH installer needs, on a migrated schema of its own: real PostgreSQL, real secret store. */
export class HostsContext {
  readonly logs: string[] = [];
  /** Every use of a stored SSH key the installer reported (the service's audit trail stores them). */
  readonly uses: CredentialUse[] = [];

  private constructor(
    readonly schema: TestSchema,
    readonly dataSource: DataSource,
    readonly keys: SshKeys,
    readonly records: HostRecords,
    readonly joinSecrets: JoinSecretsRepository,
    readonly store: SecretStore,
  ) {}

  static async create(clock: Clock = new Clock()): Promise<HostsContext> {
    const schema = await createTestSchema([...MESSAGING_MIGRATIONS, ...hostsMigrations, ...secretsMigrations], 'hosts');
    const dataSource = await new DataSource(schema.dataSourceOptions({ entities: [...HOST_ENTITIES, ...secretsEntities] })).initialize();
    const unitOfWork = new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'test' });
    const store = new SecretStore(unitOfWork, KeyRing.parse(KeyRing.generateConfigValue(['test-1'])));
    return new HostsContext(schema, dataSource, new SshKeys(unitOfWork, store), new HostRecords(dataSource), new JoinSecretsRepository(store, unitOfWork, clock), store);
  }

  bootstrapper(timeouts = { connectMs: 5_000, commandMs: 30_000 }): SshBootstrapper {
    const logger = { log: (message: unknown) => void this.logs.push(String(message)), warn: (message: unknown) => void this.logs.push(String(message)) };
    const audit = { recordUse: async (use: CredentialUse) => void this.uses.push(use) };
    return new SshBootstrapper(this.keys, this.records, this.joinSecrets, audit, logger, timeouts);
  }

  async dispose(): Promise<void> {
    await this.dataSource.destroy();
    await this.schema.drop();
  }
}

export function clusterId(): string {
  return `c${randomSuffix()}`;
}

export interface HostPlan {
  sshd: Pick<TestSshd, 'address' | 'port'>;
  role: 'control-plane' | 'worker';
  keyRef: string;
  user?: string;
}

/**
 * A virtual IP no other test uses: the stand-in kubeadm finds the host holding it among every
 * test host of the process.
 */
export function uniqueVip(): string {
  const value = randomInt(1, 65_000);
  return `127.254.${value >> 8}.${value & 255}`;
}

/** A user-provisioned cluster on test hosts: control planes first, workers in pool "workers"; its API endpoint a virtual IP. */
export function userClusterSpec(hosts: readonly HostPlan[], vip: string = uniqueVip()): ClusterSpec {
  const controlPlanes = hosts.filter((host) => host.role === 'control-plane').length;
  const workers = hosts.filter((host) => host.role === 'worker').length;
  return {
    name: 'on-prem',
    model: 'user-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: controlPlanes as 1 | 3 | 5, machineSize: 'host', vip },
    nodePools: workers > 0 ? [{ name: 'workers', count: workers, machineSize: 'host', labels: { tier: 'general' }, taints: [] }] : [],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    hosts: hosts.map((host) => ({
      address: host.sshd.address,
      port: host.sshd.port,
      user: host.user ?? 'root',
      sshKeyRef: host.keyRef,
      role: host.role,
      ...(host.role === 'worker' ? { pool: 'workers' } : {}),
    })),
  };
}

/** The join requests the reconciler would make, by machine name. */
export function joinRequests(id: string, spec: ClusterSpec): Map<string, JoinRequest> {
  return new Map(
    planMachines(id, spec).map((machine) => [
      machine.name,
      {
        clusterId: id,
        name: machine.name,
        role: machine.role,
        pool: machine.pool,
        providerId: `ssh://${machine.host!.address}:${machine.host!.port}`,
        addresses: [machine.host!.address],
        host: machine.host,
        spec,
        kubernetesVersion: spec.kubernetesVersion,
      },
    ]),
  );
}
