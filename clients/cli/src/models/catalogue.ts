// What the product says about its cluster models (the "Choosing the right model" table and the
// responsibilities of each model, /work/shared seed pages): the one place the CLI keeps it.
import type { ClusterModel } from '../api/types.js';

export type Party = 'Platform' | 'User' | 'External provider' | 'Shared';

export interface ModelEntry {
  model: ClusterModel;
  /** The product's name for the scenario. */
  scenario: string;
  infrastructure: string;
  nodeOs: string;
  kubernetes: string;
  automation: 'Full' | 'Partial' | 'Minimal';
  /** What it is for, in one sentence. */
  summary: string;
}

export const MODEL_CATALOGUE: readonly ModelEntry[] = [
  {
    model: 'platform-provisioned',
    scenario: 'Platform-provisioned infrastructure',
    infrastructure: 'Platform',
    nodeOs: 'Platform (immutable OS only: MicroOS)',
    kubernetes: 'Platform',
    automation: 'Full',
    summary: 'the platform provisions the machines and their immutable OS and automates the whole lifecycle, from provisioning to scaling and upgrades',
  },
  {
    model: 'user-provisioned',
    scenario: 'User-provisioned infrastructure',
    infrastructure: 'User',
    nodeOs: 'User',
    kubernetes: 'Platform',
    automation: 'Partial',
    summary: 'you bring the machines and keep their OS (provisioning, patching, replacement); the platform installs and runs Kubernetes on them',
  },
  {
    model: 'hosted-control-plane',
    scenario: 'Hosted control plane (HCP)',
    infrastructure: 'Platform',
    nodeOs: 'Shared nodes (Platform)',
    kubernetes: 'Platform',
    automation: 'Partial',
    summary: 'control planes of many clusters run as workloads in a management cluster; workers come from either infrastructure model',
  },
  {
    model: 'connected',
    scenario: 'Connected cluster (cloud or CNCF)',
    infrastructure: 'External provider',
    nodeOs: 'External provider',
    kubernetes: 'Partial / external',
    automation: 'Minimal',
    summary: 'an existing EKS, AKS, GKE or CNCF-conformant cluster, checked against the version policy when imported, reached through a tunnel when the global side cannot reach it',
  },
  {
    model: 'public-cloud',
    scenario: 'Public cloud cluster (EKS, AKS, GKE) run from the platform',
    infrastructure: 'External provider',
    nodeOs: 'External provider',
    kubernetes: 'Shared',
    automation: 'Full',
    summary:
      'an EKS, AKS or GKE cluster the platform creates, scales, upgrades (approved steps under the version policy) and deletes through the cloud\'s own API, with a cloud account it keeps; an imported one can be adopted',
  },
];

export function modelEntry(model: ClusterModel): ModelEntry {
  return MODEL_CATALOGUE.find((entry) => entry.model === model)!;
}

/** Who is responsible for what in a model: the rows `describe cluster` shows. */
export function responsibilities(model: ClusterModel): { area: string; party: string }[] {
  const entry = modelEntry(model);
  return [
    { area: 'Machines and nodes', party: entry.infrastructure },
    { area: 'Node OS', party: entry.nodeOs },
    { area: 'Kubernetes', party: entry.kubernetes },
    { area: 'Automation', party: entry.automation },
  ];
}
