import { serviceConfigSchema } from '@flotilla/service-kit';

export const InventoryConfig = serviceConfigSchema(8080, {});
export type InventoryConfig = ReturnType<typeof InventoryConfig.parse>;
