import type { Secret } from './secret.js';

export const CLOUD_PROVIDERS = ['eks', 'aks', 'gke'] as const;
export type CloudProviderName = (typeof CLOUD_PROVIDERS)[number];

/** Where to list clusters: an AWS region, an Azure subscription (and resource group), a GCP project and location. */
export type CloudLocation =
  | { provider: 'eks'; region: string }
  | { provider: 'aks'; subscriptionId: string; resourceGroup?: string }
  | { provider: 'gke'; projectId: string; location?: string };

/** One cluster at its provider: where it is plus its name (the `cloud` of ClusterImportRequested). */
export type CloudClusterRef =
  | { provider: 'eks'; region: string; clusterName: string }
  | { provider: 'aks'; subscriptionId: string; resourceGroup: string; clusterName: string }
  | { provider: 'gke'; projectId: string; location: string; clusterName: string };

/** An EKS node group, an AKS agent pool or a GKE node pool. */
export interface CloudNodeGroup {
  name: string;
  /** Nodes the provider says the group has (EKS desired size, AKS count, GKE nodes per zone × zones). */
  nodeCount: number;
  /** EC2 instance type, Azure VM size or GCE machine type; null when the provider leaves it open (e.g. a launch template). */
  instanceType: string | null;
  /** The group's Kubernetes version as the provider reports it; null when it follows the control plane. */
  version: string | null;
}

export interface CloudCluster {
  provider: CloudProviderName;
  name: string;
  /** Where it is: region, `subscription/resourceGroup`-free location (Azure region) or GCP zone/region. */
  location: string;
  /** AKS: the cluster's resource group, needed to address it. */
  resourceGroup?: string;
  /** Control plane version as the provider reports it, e.g. `1.31`, `1.30.5`, `1.30.5-gke.1014001`. */
  version: string;
  /** The provider's own status word, e.g. `ACTIVE`, `Succeeded`, `RUNNING`. */
  status: string;
  /** API server URL; null while the provider has none yet (a cluster being created). */
  endpoint: string | null;
  nodeGroups: CloudNodeGroup[];
}

/** How to authenticate to the Kubernetes API of a cloud cluster, the way its provider documents. */
export type ClusterAuth =
  | { kind: 'bearer-token'; token: Secret }
  | { kind: 'client-certificate'; certificatePem: string; privateKey: Secret };

export interface ClusterApiAccess {
  /** https URL of the Kubernetes API server. */
  apiServer: string;
  /** The cluster CA, PEM; the API server's certificate must chain to it. */
  caCertificatePem: string;
  auth: ClusterAuth;
  /** When the token stops working (ISO 8601); null when the provider gives no expiry. */
  expiresAt: string | null;
  cloudVersion: string;
  nodeGroups: CloudNodeGroup[];
}

/**
 * One public cloud's managed Kubernetes, through its official SDK. `account` is the stored cloud
 * account (the credential secret), already parsed for this provider. Failures are CloudError.
 */
export interface CloudProvider<Account, Location, Ref> {
  listClusters(account: Account, location: Location, signal?: AbortSignal): Promise<CloudCluster[]>;
  describeCluster(account: Account, ref: Ref, signal?: AbortSignal): Promise<CloudCluster>;
  apiAccess(account: Account, ref: Ref, signal?: AbortSignal): Promise<ClusterApiAccess>;
}
