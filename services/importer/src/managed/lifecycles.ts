import { AksLifecycle } from '../clouds/aks/aks-lifecycle.js';
import { EksLifecycle } from '../clouds/eks/eks-lifecycle.js';
import { GkeLifecycle } from '../clouds/gke/gke-lifecycle.js';
import { parseCloudAccount, type AwsAccount, type AzureAccount, type GcpAccount } from '../clouds/accounts.js';
import type { CloudProviderName } from '../clouds/cloud-provider.js';
import type { CloudSettings } from '../clouds/settings.js';
import type {
  CloudClusterSpec,
  CloudLifecycle,
  CloudNodeGroupSpec,
  CloudOperation,
  CloudOperationStatus,
  CloudPlace,
  CloudTarget,
  ObservedCloudCluster,
  ObservedCloudNodeGroup,
} from '../clouds/lifecycle.js';
import type { RevealableSecret } from '../clouds/secret.js';

/** The lifecycle of each cloud this build can create clusters at. */
export interface CloudLifecycleSet {
  eks?: CloudLifecycle<AwsAccount>;
  aks?: CloudLifecycle<AzureAccount>;
  gke?: CloudLifecycle<GcpAccount>;
}

/** One cloud's lifecycle with the account already in hand: what the reconciler calls. */
export interface AccountLifecycle {
  offeredVersions(place: CloudPlace, signal?: AbortSignal): Promise<string[]>;
  findCluster(target: CloudTarget, signal?: AbortSignal): Promise<ObservedCloudCluster | null>;
  createCluster(target: CloudTarget, spec: CloudClusterSpec, groups: readonly CloudNodeGroupSpec[], requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  upgradeCluster(target: CloudTarget, version: string, requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  deleteCluster(target: CloudTarget, signal?: AbortSignal): Promise<CloudOperation>;
  listNodeGroups(target: CloudTarget, signal?: AbortSignal, only?: readonly string[]): Promise<ObservedCloudNodeGroup[]>;
  createNodeGroup(target: CloudTarget, cluster: CloudClusterSpec, group: CloudNodeGroupSpec, requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  scaleNodeGroup(target: CloudTarget, name: string, size: { minSize: number; maxSize: number; desiredSize: number }, requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  upgradeNodeGroup(target: CloudTarget, name: string, version: string, requestToken: string, signal?: AbortSignal): Promise<CloudOperation>;
  deleteNodeGroup(target: CloudTarget, name: string, signal?: AbortSignal): Promise<CloudOperation>;
  operationStatus(target: CloudTarget, operation: string, signal?: AbortSignal): Promise<CloudOperationStatus>;
  adoptCluster(target: CloudTarget, owner: string, signal?: AbortSignal): Promise<void>;
}

/** This build has no lifecycle for the cloud: permanent, the request is refused with it. */
export class LifecycleUnavailableError extends Error {
  override readonly name = 'LifecycleUnavailableError';

  constructor(readonly provider: CloudProviderName) {
    super(`creating clusters at ${provider} is not available in this importer`);
  }
}

function bind<Account>(lifecycle: CloudLifecycle<Account>, account: Account): AccountLifecycle {
  return {
    offeredVersions: (place, signal) => lifecycle.offeredVersions(account, place, signal),
    findCluster: (target, signal) => lifecycle.findCluster(account, target, signal),
    createCluster: (target, spec, groups, token, signal) => lifecycle.createCluster(account, target, spec, groups, token, signal),
    upgradeCluster: (target, version, token, signal) => lifecycle.upgradeCluster(account, target, version, token, signal),
    deleteCluster: (target, signal) => lifecycle.deleteCluster(account, target, signal),
    listNodeGroups: (target, signal, only) => lifecycle.listNodeGroups(account, target, signal, only),
    createNodeGroup: (target, cluster, group, token, signal) => lifecycle.createNodeGroup(account, target, cluster, group, token, signal),
    scaleNodeGroup: (target, name, size, token, signal) => lifecycle.scaleNodeGroup(account, target, name, size, token, signal),
    upgradeNodeGroup: (target, name, version, token, signal) => lifecycle.upgradeNodeGroup(account, target, name, version, token, signal),
    deleteNodeGroup: (target, name, signal) => lifecycle.deleteNodeGroup(account, target, name, signal),
    operationStatus: (target, operation, signal) => lifecycle.operationStatus(account, target, operation, signal),
    adoptCluster: (target, owner, signal) => lifecycle.adoptCluster(account, target, owner, signal),
  };
}

/**
 * The door to the clouds' lifecycles: opens a stored cloud account for its provider
 * (`parseCloudAccount`, a CloudError naming the field when it is not one) and hands back that
 * cloud's lifecycle bound to it. The account lives as long as the step that uses it.
 */
export class CloudLifecycles {
  constructor(private readonly lifecycles: CloudLifecycleSet) {}

  open(provider: CloudProviderName, secret: RevealableSecret): AccountLifecycle {
    const opened = parseCloudAccount(provider, secret);
    switch (opened.provider) {
      case 'eks':
        return bind(this.need(opened.provider, this.lifecycles.eks), opened.account);
      case 'aks':
        return bind(this.need(opened.provider, this.lifecycles.aks), opened.account);
      case 'gke':
        return bind(this.need(opened.provider, this.lifecycles.gke), opened.account);
    }
  }

  private need<T>(provider: CloudProviderName, lifecycle: T | undefined): T {
    if (lifecycle === undefined) throw new LifecycleUnavailableError(provider);
    return lifecycle;
  }
}

/** The lifecycles over the clouds' official SDKs, configured like the import code (`CLOUD_*`). */
export function sdkLifecycles(settings: CloudSettings): CloudLifecycleSet {
  return { eks: new EksLifecycle(settings), aks: new AksLifecycle(settings), gke: new GkeLifecycle(settings) };
}
