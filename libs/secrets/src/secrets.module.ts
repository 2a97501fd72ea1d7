import { Module, type DynamicModule } from '@nestjs/common';
import { KEY_ROTATION_SETTINGS, KeyRotation, type KeyRotationSettings } from './key-rotation.js';
import type { KeyRing } from './keyring.js';
import { SECRETS_KEYRING, SecretStore } from './secret-store.js';

export interface SecretsModuleOptions {
  /** The service's key ring: `config.SECRETS_KEYS`. */
  keys: KeyRing;
  /** Pause between background rewrap rounds once nothing is left to move (default 60 s). */
  rewrapIntervalMs?: number;
  /** Secrets re-wrapped per transaction (default 100). */
  rewrapBatchSize?: number;
}

/**
 * The secret store of a service. Needs the service's DataSource and UnitOfWork (the service kit
 * provides both) and the `secrets` table: add `secretsEntities` and `secretsMigrations` to the
 * service's entities and migrations.
 */
@Module({})
export class SecretsModule {
  static forRoot(options: SecretsModuleOptions): DynamicModule {
    const settings: KeyRotationSettings = { intervalMs: options.rewrapIntervalMs ?? 60_000, batchSize: options.rewrapBatchSize ?? 100 };
    return {
      module: SecretsModule,
      providers: [{ provide: SECRETS_KEYRING, useValue: options.keys }, { provide: KEY_ROTATION_SETTINGS, useValue: settings }, SecretStore, KeyRotation],
      exports: [SECRETS_KEYRING, SecretStore, KeyRotation],
    };
  }
}
