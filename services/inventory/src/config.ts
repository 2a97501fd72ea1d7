import { SecretsConfig } from '@flotilla/secrets';
import { serviceConfigSchema } from '@flotilla/service-kit';

/** The inventory keeps one secret of its own: the token issuer's signing key, sealed under SECRETS_KEYS. */
export const InventoryConfig = serviceConfigSchema(8080, { ...SecretsConfig });
export type InventoryConfig = ReturnType<typeof InventoryConfig.parse>;
