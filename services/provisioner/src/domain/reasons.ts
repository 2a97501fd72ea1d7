import type { CreateDecision, Reason } from '@flotilla/contracts';

/** The version policy's refusals, passed through under their own stable codes. */
export type VersionRefusalCode = Exclude<CreateDecision['code'], 'creation-supported'>;

/** Everything the provisioner can refuse or fail a cluster for; each code is a stable name users see. */
export const REASON_CODES = [
  'cluster-id-invalid',
  // the version policy (canCreate on the platform release)
  'release-unknown',
  'version-invalid',
  'version-prerelease',
  'creation-unsupported',
  // network
  'cidr-invalid',
  'cidr-host-bits-set',
  'cidr-family-mismatch',
  'cidr-overlap',
  'service-cidr-too-large',
  'pod-cidr-too-small',
  // shape of the cluster
  'model-not-provisioned',
  'control-plane-required',
  'node-pool-duplicate',
  'machine-name-conflict',
  'machine-name-too-long',
  'workers-required',
  'node-os-unsupported',
  'node-os-not-allowed',
  'infrastructure-provider-unavailable',
  'infrastructure-not-allowed',
  // the machines users bring
  'hosts-required',
  'hosts-not-allowed',
  'host-duplicate',
  'host-in-another-cluster',
  'host-in-cluster-network',
  'host-role-not-allowed',
  'host-pool-unknown',
  'control-plane-hosts-mismatch',
  'node-pool-hosts-mismatch',
  // the API endpoint of users' hosts (a virtual IP kube-vip holds)
  'control-plane-vip-required',
  'control-plane-vip-not-allowed',
  'control-plane-vip-invalid',
  'control-plane-vip-in-use',
  'control-plane-vip-in-cluster-network',
  // hosted control plane
  'hosted-required',
  'hosted-not-allowed',
  // hosted control plane placement (ControlPlanePlacement.reserve)
  'no-management-cluster',
  'management-capacity-exhausted',
  // the hosted control plane in its management cluster
  'control-plane-refused',
  'control-plane-timeout',
  'management-cluster-unavailable',
  // provisioning
  'machine-failed',
  'machine-timeout',
  'provider-error',
  // upgrade steps: the cluster's state, then the version policy (skew and compatibility)
  'cluster-not-running',
  'cluster-busy',
  'upgrade-unsupported',
  'major-version-mismatch',
  'control-plane-skips-minor',
  'control-plane-downgrade',
  'incompatible',
  'kubelet-too-old',
  'kubelet-newer-than-api-server',
] as const satisfies readonly string[];

export type ReasonCode = (typeof REASON_CODES)[number];

/** A Reason whose code the compiler checks. */
export interface ProvisionerReason extends Reason {
  code: ReasonCode;
}

export function reason(code: ReasonCode, message: string, field?: string): ProvisionerReason {
  return field === undefined ? { code, message } : { code, message, field };
}

/** Short title of a code (README, logs); the reason's message carries the specifics. */
export function describeReasonCode(code: ReasonCode): string {
  switch (code) {
    case 'cluster-id-invalid':
      return 'The cluster id (event subject) is not a DNS label';
    case 'release-unknown':
      return 'The configured platform release is not in the support matrix';
    case 'version-invalid':
      return 'Not a Kubernetes version';
    case 'version-prerelease':
      return 'Pre-release Kubernetes build';
    case 'creation-unsupported':
      return 'The platform release does not create clusters on this Kubernetes version';
    case 'cidr-invalid':
      return 'Not a CIDR';
    case 'cidr-host-bits-set':
      return 'CIDR has host bits set';
    case 'cidr-family-mismatch':
      return 'Pod and service CIDRs are of different IP families';
    case 'cidr-overlap':
      return 'Pod and service CIDRs overlap';
    case 'service-cidr-too-large':
      return 'Service CIDR larger than the API server accepts';
    case 'pod-cidr-too-small':
      return 'Pod CIDR cannot give every node its range';
    case 'model-not-provisioned':
      return 'A public-cloud cluster: the importer creates it at its cloud, not the provisioner';
    case 'control-plane-required':
      return 'The control plane (controlPlane) is missing';
    case 'node-pool-duplicate':
      return 'Two node pools share a name';
    case 'machine-name-conflict':
      return 'Two machines would get the same name';
    case 'machine-name-too-long':
      return 'A machine name would exceed 253 characters';
    case 'workers-required':
      return 'A hosted control plane needs at least one worker';
    case 'node-os-unsupported':
      return 'Node OS not supported for platform-provisioned machines';
    case 'node-os-not-allowed':
      return 'Node OS is the user\'s on machines they bring';
    case 'infrastructure-provider-unavailable':
      return 'No such infrastructure provider here';
    case 'infrastructure-not-allowed':
      return 'Infrastructure settings on machines users bring';
    case 'hosts-required':
      return 'The machines users bring are missing';
    case 'hosts-not-allowed':
      return 'Hosts given for platform-provisioned machines';
    case 'host-duplicate':
      return 'A host appears twice';
    case 'host-in-another-cluster':
      return 'A host belongs to another cluster of the fleet';
    case 'host-in-cluster-network':
      return 'A host address lies inside the pod or service CIDR';
    case 'control-plane-vip-required':
      return "A cluster on users' hosts needs a virtual IP for its API endpoint";
    case 'control-plane-vip-not-allowed':
      return "Only clusters whose control plane runs on users' hosts take a virtual IP";
    case 'control-plane-vip-invalid':
      return 'The virtual IP is not an IP address';
    case 'control-plane-vip-in-use':
      return "The virtual IP is a host's own address";
    case 'control-plane-vip-in-cluster-network':
      return 'The virtual IP lies inside the pod or service CIDR';
    case 'host-role-not-allowed':
      return 'Control-plane host for a hosted control plane';
    case 'host-pool-unknown':
      return 'A host names a node pool that is not declared';
    case 'control-plane-hosts-mismatch':
      return 'Control-plane hosts differ from the control-plane count';
    case 'node-pool-hosts-mismatch':
      return 'Node pool count differs from its hosts';
    case 'hosted-required':
      return 'A hosted control plane needs its `hosted` settings';
    case 'hosted-not-allowed':
      return '`hosted` settings on a cluster that is not hosted';
    case 'machine-failed':
      return 'A machine failed to come up';
    case 'machine-timeout':
      return 'A machine did not come up in time';
    case 'provider-error':
      return 'The infrastructure provider kept failing';
    case 'no-management-cluster':
      return 'No management cluster is registered to host the control plane';
    case 'management-capacity-exhausted':
      return 'The management clusters have no room for another control plane';
    case 'control-plane-refused':
      return 'The management cluster refused the TenantControlPlane';
    case 'control-plane-timeout':
      return 'The TenantControlPlane was not Ready in time';
    case 'management-cluster-unavailable':
      return 'Flotilla cannot use the management cluster (no credentials, or credentials for another server)';
    case 'cluster-not-running':
      return 'The cluster is not Running';
    case 'cluster-busy':
      return 'Another operation is in progress on the cluster';
    case 'upgrade-unsupported':
      return 'The cluster\'s control plane is not upgraded in place yet (hosted control planes)';
    case 'major-version-mismatch':
      return 'The step changes the Kubernetes major version';
    case 'control-plane-skips-minor':
      return 'The control plane must move one minor at a time';
    case 'control-plane-downgrade':
      return 'The control plane cannot go back a minor';
    case 'incompatible':
      return 'The target version is not compatible with the platform release';
    case 'kubelet-too-old':
      return 'A node would fall too far behind the API server';
    case 'kubelet-newer-than-api-server':
      return 'A node would be newer than the API server';
  }
}
