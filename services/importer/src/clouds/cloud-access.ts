import { cloudClusterRefFor, cloudLocationFor, parseCloudAccount, type CloudLocationFields } from './accounts.js';
import { AksProvider } from './aks/aks-provider.js';
import type { CloudCluster, CloudProviderName, ClusterApiAccess } from './cloud-provider.js';
import { EksProvider } from './eks/eks-provider.js';
import { CloudError } from './errors.js';
import { GkeProvider } from './gke/gke-provider.js';
import type { RevealableSecret } from './secret.js';
import type { CloudSettings } from './settings.js';

/** The `cloud` of ClusterImportRequested: where the provider finds one cluster. */
export type CloudClusterFields = CloudLocationFields & { clusterName?: string | undefined };

/**
 * The one door to the three clouds: opens the stored account for the provider, checks the
 * location, and calls that provider. Every failure is a CloudError with a typed code.
 */
export class CloudAccess {
  constructor(
    private readonly eks: EksProvider,
    private readonly aks: AksProvider,
    private readonly gke: GkeProvider,
  ) {}

  static fromSettings(settings: CloudSettings): CloudAccess {
    return new CloudAccess(new EksProvider(settings), new AksProvider(settings), new GkeProvider(settings));
  }

  /** The clusters an account sees in a region / subscription (+ resource group) / project (+ location). */
  async list(provider: CloudProviderName, accountSecret: RevealableSecret, location: CloudLocationFields, signal?: AbortSignal): Promise<CloudCluster[]> {
    const opened = parseCloudAccount(provider, accountSecret);
    const where = cloudLocationFor(provider, location);
    switch (opened.provider) {
      case 'eks':
        return this.eks.listClusters(opened.account, narrow(where, 'eks'), signal);
      case 'aks':
        return this.aks.listClusters(opened.account, narrow(where, 'aks'), signal);
      case 'gke':
        return this.gke.listClusters(opened.account, narrow(where, 'gke'), signal);
    }
  }

  /** Version and node groups of one cluster. */
  async describe(provider: CloudProviderName, accountSecret: RevealableSecret, cloud: CloudClusterFields, signal?: AbortSignal): Promise<CloudCluster> {
    const opened = parseCloudAccount(provider, accountSecret);
    const ref = cloudClusterRefFor(provider, cloud);
    switch (opened.provider) {
      case 'eks':
        return this.eks.describeCluster(opened.account, narrow(ref, 'eks'), signal);
      case 'aks':
        return this.aks.describeCluster(opened.account, narrow(ref, 'aks'), signal);
      case 'gke':
        return this.gke.describeCluster(opened.account, narrow(ref, 'gke'), signal);
    }
  }

  /** API server, CA and a short-lived credential for the cluster's Kubernetes API, as the provider documents. */
  async access(provider: CloudProviderName, accountSecret: RevealableSecret, cloud: CloudClusterFields, signal?: AbortSignal): Promise<ClusterApiAccess> {
    const opened = parseCloudAccount(provider, accountSecret);
    const ref = cloudClusterRefFor(provider, cloud);
    switch (opened.provider) {
      case 'eks':
        return this.eks.apiAccess(opened.account, narrow(ref, 'eks'), signal);
      case 'aks':
        return this.aks.apiAccess(opened.account, narrow(ref, 'aks'), signal);
      case 'gke':
        return this.gke.apiAccess(opened.account, narrow(ref, 'gke'), signal);
    }
  }
}

/** The location and the account were built for the same provider; this says so to the compiler. */
function narrow<T extends { provider: CloudProviderName }, P extends CloudProviderName>(value: T, provider: P): Extract<T, { provider: P }> {
  if (value.provider !== provider) throw new CloudError('cloud-location-invalid', `a ${value.provider} location was given for ${provider}`);
  return value as Extract<T, { provider: P }>;
}
