import type { CloudProviderName } from './cloud-provider.js';
import type { CloudErrorCode } from './errors.js';

/**
 * Creating and running a cluster at a public cloud: the calls the managed-cluster reconciler makes,
 * one implementation per cloud (`eks/eks-lifecycle.ts`, `aks/aks-lifecycle.ts`,
 * `gke/gke-lifecycle.ts`) over that cloud's official SDK.
 *
 * Every call is safe to repeat after a crash: cloud names are deterministic (the reconciler derives
 * them from the cluster id), mutating calls carry a request token where the API takes one (EKS
 * `clientRequestToken`) and otherwise look before they create (GKE) or are idempotent by design
 * (Azure's PUT). A create of something that already exists and carries our ownership tag is not an
 * error; one that exists without it is `cloud-name-taken`.
 *
 * Failures are CloudError with a typed code (`errors.ts`); throttling carries `retryAfterMs`.
 */

/** Where a cluster lives, enough to create it there. */
export type CloudPlace =
  | { provider: 'eks'; region: string }
  | { provider: 'aks'; subscriptionId: string; resourceGroup: string; /** Azure region, e.g. `westeurope`. */ location: string }
  | { provider: 'gke'; projectId: string; /** Region or zone, e.g. `europe-west1` or `europe-west1-b`. */ location: string };

/** One cluster at its cloud: its place plus its (deterministic) cloud name. */
export type CloudTarget = CloudPlace & { clusterName: string };

/** How the cluster's nodes and API endpoint sit in the cloud's network. */
export type CloudNetworking =
  | {
      provider: 'eks';
      /** Subnets of the control plane's network interfaces and of the node groups (two availability zones at least). */
      subnetIds: string[];
      securityGroupIds: string[];
      /** IAM role EKS assumes for the control plane; and the one the nodes get. */
      clusterRoleArn: string;
      nodeRoleArn: string;
    }
  | { provider: 'aks'; /** Resource id of the subnet the nodes join (Azure CNI); absent: AKS makes its own network. */ vnetSubnetId?: string }
  | { provider: 'gke'; network: string; subnetwork: string };

export interface CloudTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** A node group (EKS managed node group, AKS agent pool, GKE node pool) as we ask for it. */
export interface CloudNodeGroupSpec {
  /** A DNS label; also the cloud's name for the group (AKS: at most 12 lower-case alphanumerics, checked by the AKS lifecycle). */
  name: string;
  instanceType: string;
  minSize: number;
  maxSize: number;
  desiredSize: number;
  labels: Record<string, string>;
  taints: CloudTaint[];
}

/** The cluster as we ask for it. `tags` always carries `flotilla-cluster-id` (the ownership tag). */
export interface CloudClusterSpec {
  /** `major.minor`, e.g. `1.31`: each cloud picks its newest patch. */
  kubernetesVersion: string;
  endpointAccess: 'public' | 'private';
  networking: CloudNetworking;
  tags: Record<string, string>;
}

/** The tag (label, on GKE) that says a cloud resource is Flotilla's, with the cluster id as value. */
export const OWNERSHIP_TAG = 'flotilla-cluster-id';

/**
 * Where a cloud resource is in its life, from each cloud's own status words:
 * EKS CREATING/ACTIVE/UPDATING/DELETING/FAILED (+ CREATE_FAILED, DELETE_FAILED, DEGRADED of node groups),
 * AKS provisioningState Creating/Succeeded/Updating/Upgrading/Scaling/Deleting/Failed/Canceled,
 * GKE PROVISIONING/RUNNING/RECONCILING/STOPPING/ERROR/DEGRADED (+ RUNNING_WITH_ERROR of node pools).
 */
export type CloudResourceState = 'creating' | 'ready' | 'updating' | 'deleting' | 'failed';

export interface ObservedCloudCluster {
  state: CloudResourceState;
  /** The control plane's version as the cloud reports it (`1.31`, `1.31.4`, `1.31.4-gke.1000`). */
  version: string;
  /** https URL of the API server; null until the cloud has one. */
  endpoint: string | null;
  /** The value of the ownership tag; null when the resource has none (not ours). */
  owner: string | null;
  /** The cloud's own message when `state` is `failed`. */
  failure: string | null;
  /** That failure typed from the cloud's own reason (`cloudFailureCode`). */
  failureCode?: CloudErrorCode;
}

export interface ObservedCloudNodeGroup {
  name: string;
  state: CloudResourceState;
  version: string | null;
  instanceType: string | null;
  minSize: number;
  maxSize: number;
  desiredSize: number;
  /** The nodes it runs when that is not `desiredSize`: a GKE pool's size is per zone of its locations. */
  nodes?: number;
  failure: string | null;
  /** That failure typed from the cloud's own reason (`cloudFailureCode`). */
  failureCode?: CloudErrorCode;
}

/**
 * A long-running operation the cloud started (EKS update id, Azure poller state, GKE operation
 * name), kept by the reconciler so that after a restart it waits on the same one.
 * Null when the cloud gives none; the reconciler then waits on the resource's state.
 */
export type CloudOperation = string | null;

/**
 * `code`: the failure typed from the cloud's own reason (`cloudFailureCode`), when it failed.
 * `followUp`: one call of ours that is two operations at the cloud (GKE: a create, then the drop of
 * its bootstrap pool) is at its second, of that kind, started by this look (`startedNow`) or
 * before: what the wait is timed by from then on.
 */
export type CloudOperationStatus = { done: false; followUp?: CloudFollowUp } | { done: true; failure: string | null; code?: CloudErrorCode };

export interface CloudFollowUp {
  operation: 'delete-node-group' | 'delete-cluster';
  startedNow: boolean;
}

export interface CloudLifecycle<Account> {
  readonly provider: CloudProviderName;
  /** `major.minor` versions the cloud offers for new clusters in that place, e.g. `['1.30', '1.31']`. */
  offeredVersions(account: Account, place: CloudPlace, signal?: AbortSignal): Promise<string[]>;

  /** The cluster, or null when the cloud has none of that name. */
  findCluster(account: Account, target: CloudTarget, signal?: AbortSignal): Promise<ObservedCloudCluster | null>;
  /**
   * Starts creating the control plane, and with it the node groups `groups` where the cloud takes
   * them in the cluster's create (AKS agent pool profiles, GKE node pools: one operation for all,
   * as Rancher's operators do); EKS creates them after (CreateNodegroup needs an ACTIVE cluster).
   * `requestToken` is stable for this create.
   */
  createCluster(account: Account, target: CloudTarget, spec: CloudClusterSpec, groups: readonly CloudNodeGroupSpec[], requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  /** Starts upgrading the control plane to the next minor. */
  upgradeCluster(account: Account, target: CloudTarget, version: string, requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  /** Starts deleting the cluster (its node groups are gone first). Deleting what is gone is done. */
  deleteCluster(account: Account, target: CloudTarget, signal?: AbortSignal): Promise<CloudOperation>;

  findNodeGroup(account: Account, target: CloudTarget, name: string, signal?: AbortSignal): Promise<ObservedCloudNodeGroup | null>;
  /**
   * The cluster's node groups. `only`: the caller needs no others, so a cloud with no call that
   * lists them described (EKS) describes only these, those that exist; the others may list all.
   */
  listNodeGroups(account: Account, target: CloudTarget, signal?: AbortSignal, only?: readonly string[]): Promise<ObservedCloudNodeGroup[]>;
  createNodeGroup(account: Account, target: CloudTarget, cluster: CloudClusterSpec, group: CloudNodeGroupSpec, requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  scaleNodeGroup(
    account: Account,
    target: CloudTarget,
    name: string,
    size: { minSize: number; maxSize: number; desiredSize: number },
    requestToken: string,
    signal?: AbortSignal,
  ): Promise<CloudOperation>;
  /** Starts upgrading a node group to the control plane's version. */
  upgradeNodeGroup(account: Account, target: CloudTarget, name: string, version: string, requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  deleteNodeGroup(account: Account, target: CloudTarget, name: string, signal?: AbortSignal): Promise<CloudOperation>;

  /** How an operation stands; one the cloud no longer knows of is done without failure. */
  operationStatus(account: Account, target: CloudTarget, operation: string, signal?: AbortSignal): Promise<CloudOperationStatus>;

  /**
   * Adoption: a cluster Flotilla did not create becomes its own. Deletes touch only what carries
   * the ownership tag, so the cluster (and on EKS, where node group deletes check their own tags,
   * each node group) is given `flotilla-cluster-id` = `owner` when it is adopted; it can be deleted
   * from then on. Repeatable; a resource already tagged for another Flotilla cluster is
   * `cloud-name-taken` and nothing is tagged. A cluster never adopted keeps no tag, and is never deleted.
   */
  adoptCluster(account: Account, target: CloudTarget, owner: string, signal?: AbortSignal): Promise<void>;
}
