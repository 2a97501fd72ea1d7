import type { Distribution as DistributionSchema } from '@flotilla/contracts';
import type { z } from 'zod';

export type Distribution = z.infer<typeof DistributionSchema>;

/** What distribution detection reads of a node. */
export interface NodeFacts {
  labels: Record<string, string>;
  providerID?: string | undefined;
}

const hasLabel = (nodes: readonly NodeFacts[], predicate: (key: string) => boolean) => nodes.some((node) => Object.keys(node.labels).some(predicate));
const hasProviderId = (nodes: readonly NodeFacts[], pattern: RegExp) => nodes.some((node) => node.providerID !== undefined && pattern.test(node.providerID));

/**
 * Which Kubernetes distribution a cluster runs, from what any cluster-admin can read: the
 * API server's gitVersion and the nodes' labels and provider ids.
 *
 * - OpenShift first: ROSA and ARO run on AWS and Azure machines but are OpenShift.
 * - k3s and RKE2 stamp their build into the version (`v1.30.4+k3s1`, `v1.30.4+rke2r1`).
 * - EKS (`v1.31.5-eks-113cf36`) and GKE (`v1.30.5-gke.1014001`) do too; AKS does not, so its
 *   node labels (`kubernetes.azure.com/*`) decide. Node labels confirm EKS and GKE as well.
 * - A provider id alone says which cloud the machines are in, not who runs the cluster (kubeadm
 *   on EC2 has `aws://` ids too): only the managed services' own naming counts, AKS's `MC_`
 *   node resource group and GKE's `gke-` instance names.
 * - Anything else is vanilla (kubeadm and other upstream builds).
 */
export function detectDistribution(gitVersion: string, nodes: readonly NodeFacts[]): Distribution {
  const version = gitVersion.toLowerCase();
  if (hasLabel(nodes, (key) => key === 'node.openshift.io/os_id' || key.startsWith('machineconfiguration.openshift.io/'))) return 'openshift';
  if (/\+rke2/.test(version)) return 'rke2';
  if (/\+k3s/.test(version)) return 'k3s';
  if (/-eks-/.test(version) || hasLabel(nodes, (key) => key.startsWith('eks.amazonaws.com/'))) return 'eks';
  if (/-gke\./.test(version) || hasLabel(nodes, (key) => key.startsWith('cloud.google.com/gke-'))) return 'gke';
  if (hasLabel(nodes, (key) => key.startsWith('kubernetes.azure.com/'))) return 'aks';
  if (hasProviderId(nodes, /^azure:\/\/\/subscriptions\/[^/]+\/resourcegroups\/mc_/i)) return 'aks';
  if (hasProviderId(nodes, /^gce:\/\/[^/]+\/[^/]+\/gke-/)) return 'gke';
  // Older k3s builds without the suffix still label their nodes.
  if (nodes.some((node) => node.labels['node.kubernetes.io/instance-type'] === 'k3s')) return 'k3s';
  return 'vanilla';
}

/** control-plane when the node carries either role label (`master` before Kubernetes 1.24). */
export function nodeRole(labels: Record<string, string>): 'control-plane' | 'worker' {
  return 'node-role.kubernetes.io/control-plane' in labels || 'node-role.kubernetes.io/master' in labels ? 'control-plane' : 'worker';
}
