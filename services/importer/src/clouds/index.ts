import type { Provider } from '@nestjs/common';
import { CloudAccess } from './cloud-access.js';
import type { CloudSettings } from './settings.js';

export { cloudClusterRefFor, cloudLocationFor, parseCloudAccount, type AwsAccount, type AzureAccount, type CloudLocationFields, type GcpAccount } from './accounts.js';
export { CloudAccess, type CloudClusterFields } from './cloud-access.js';
export { CLOUD_ACCOUNT_SECRETS, CloudAccountsController, httpStatusForCloudError, type CloudAccountSecrets } from './cloud-accounts.controller.js';
export { CLOUD_PROVIDERS, type CloudCluster, type CloudClusterRef, type CloudLocation, type CloudNodeGroup, type CloudProviderName, type ClusterApiAccess, type ClusterAuth } from './cloud-provider.js';
export type { CloudClusterSpec, CloudLifecycle, CloudNetworking, CloudNodeGroupSpec, CloudOperation, CloudOperationStatus, CloudPlace, CloudResourceState, CloudTaint, CloudTarget, ObservedCloudCluster, ObservedCloudNodeGroup } from './lifecycle.js';
export { OWNERSHIP_TAG } from './lifecycle.js';
export { CLOUD_ERROR_CODES, CloudError, describeCloudError, isTransientCloudError, type CloudErrorCode } from './errors.js';
export { Secret, type RevealableSecret } from './secret.js';
export { CloudConfigVariables, cloudSettingsFrom, PUBLIC_CLOUD_SETTINGS, type CloudSettings } from './settings.js';

/**
 * The Nest providers of the cloud door: `CloudAccess` (inject it by its class). The controller
 * also needs CLOUD_ACCOUNT_SECRETS bound to the secret store.
 */
export function cloudAccessProviders(settings: CloudSettings): Provider[] {
  return [{ provide: CloudAccess, useValue: CloudAccess.fromSettings(settings) }];
}
