import type { ClusterModel } from '../api/types.js';
import { modelEntry } from './catalogue.js';

/** The questions `models recommend` asks. */
export interface ModelQuestions {
  /** Who owns (or provides) the machines: the platform provisions them, you bring them, or a provider runs the cluster already. */
  machines: 'platform' | 'user' | 'existing-cluster';
  /** Whether an immutable OS on the nodes is wanted (the platform manages it then). */
  immutableOs: boolean;
  /** Whether the global side can reach the cluster's API server (else a tunnel agent dials out). */
  reachable: boolean;
  /** Whether control planes should share a management cluster (large bare-metal or resource-constrained fleets). */
  shareControlPlanes: boolean;
}

export interface Recommendation {
  model: ClusterModel;
  /** How the cluster is reached (connected clusters) or where its workers come from (hosted). */
  variant?: string;
  reasons: string[];
  /** Things to know before going ahead. */
  notes: string[];
}

/** The model the answers point to, with the reasons (the product's "Choosing the right model"). */
export function recommendModel(answers: ModelQuestions): Recommendation {
  if (answers.machines === 'existing-cluster') {
    const reasons = ['the cluster exists already (EKS, AKS, GKE or CNCF-conformant): it is connected, not built'];
    const notes = ['its Kubernetes version is checked against the compatibility policy when it is imported', 'the provider keeps its machines, node OS and upgrades'];
    if (answers.reachable) {
      reasons.push('the global side reaches its API server: import it directly with a kubeconfig or a cloud account');
      return { model: 'connected', variant: 'direct import (flotilla import cluster / import cloud)', reasons, notes };
    }
    reasons.push('the global side cannot reach it: a tunnel agent in the cluster dials out to the tunnel server');
    return { model: 'connected', variant: 'registered through the tunnel (flotilla register cluster)', reasons, notes: [...notes, 'the registration command is valid for 24 hours'] };
  }
  const workers: ClusterModel = answers.machines === 'platform' ? 'platform-provisioned' : 'user-provisioned';
  const reasons: string[] = [];
  const notes: string[] = [];
  if (answers.machines === 'platform') {
    reasons.push('the platform provisions the machines: it can automate the whole lifecycle, from provisioning to scaling and upgrades');
    if (answers.immutableOs) reasons.push('an immutable OS is wanted: the platform manages it (MicroOS), consistent and easily recoverable');
    else notes.push('platform-provisioned machines always run the immutable OS (MicroOS): the platform manages it');
  } else {
    reasons.push('you bring the machines and keep their OS (provisioning, patching, replacement): the platform installs and runs Kubernetes on them');
    if (answers.immutableOs) notes.push('an immutable OS managed by the platform needs platform-provisioned machines; on your own machines the OS stays yours');
  }
  if (!answers.reachable) notes.push('platform-managed clusters need the global side to reach their machines; a cluster it cannot reach can only be connected through the tunnel');
  if (answers.shareControlPlanes) {
    reasons.push('control planes share a management cluster: less control-plane resource use, suited to large bare-metal or resource-constrained fleets');
    return { model: 'hosted-control-plane', variant: `workers ${modelEntry(workers).scenario.toLowerCase()}`, reasons, notes };
  }
  return { model: workers, reasons, notes };
}
