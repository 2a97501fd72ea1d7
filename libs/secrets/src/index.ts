import type { MigrationInterface } from 'typeorm';
import { SecretsTable1732300005000 } from './migrations.js';
import { SecretEntity } from './secret.entity.js';

export * from './errors.js';
export { KeyRing, SECRETS_KEYS_VARIABLE } from './keyring.js';
export * from './envelope.js';
export * from './secret.js';
export * from './config.js';
export * from './secret-store.js';
export * from './key-rotation.js';
export * from './secrets.module.js';
export { SecretEntity, SecretsTable1732300005000 };

/** Add to the service's entities and migrations (after its own, any order). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const secretsEntities: Function[] = [SecretEntity];
export const secretsMigrations: (new () => MigrationInterface)[] = [SecretsTable1732300005000];
