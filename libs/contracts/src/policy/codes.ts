/**
 * Every answer the version policy gives carries one of these codes, so services can branch on it
 * and users see a stable name next to the message.
 */
export const POLICY_CODES = [
  // inputs
  'version-invalid',
  'version-prerelease',
  'version-patch-required',
  'major-version-mismatch',
  'release-unknown',
  // cluster creation, compatibility, onboarding
  'creation-supported',
  'creation-unsupported',
  'compatible',
  'incompatible',
  'onboard-validated',
  'onboard-unvalidated',
  'onboard-out-of-range',
  // platform upgrade paths and order
  'upgrade-path-supported',
  'upgrade-path-unsupported',
  'upgrade-path-same-release',
  'upgrade-path-downgrade',
  'workload-release-allowed',
  'workload-ahead-of-global',
  // the global upgrade gate
  'gate-open',
  'gate-blocked',
  'below-latest-compatible',
  'outside-compatible-range',
  // upstream version skew
  'control-plane-step-ok',
  'control-plane-no-change',
  'control-plane-skips-minor',
  'control-plane-downgrade',
  'kubelet-skew-ok',
  'kubelet-newer-than-api-server',
  'kubelet-too-old',
  // planner, per cluster and per plan
  'on-target',
  'optional-upgrade-after',
  'upgrade-required',
  'provider-upgrade-required',
  'provider-managed',
  'newer-than-target',
  'older-than-supported-path',
  'node-pool-version-invalid',
  'duplicate-cluster-id',
  'concurrency-invalid',
] as const;

export type PolicyCode = (typeof POLICY_CODES)[number];

/** Short title of a code, for tables and logs; the decision's `reason` carries the specifics. */
export function describePolicyCode(code: PolicyCode): string {
  switch (code) {
    case 'version-invalid':
      return 'Not a Kubernetes version';
    case 'version-prerelease':
      return 'Pre-release Kubernetes build';
    case 'version-patch-required':
      return 'Patch version needed to decide';
    case 'major-version-mismatch':
      return 'Different Kubernetes major version';
    case 'release-unknown':
      return 'Platform release not in the support matrix';
    case 'creation-supported':
      return 'Supported for cluster creation';
    case 'creation-unsupported':
      return 'Not offered for cluster creation';
    case 'compatible':
      return 'Compatible with the platform release';
    case 'incompatible':
      return 'Not compatible with the platform release';
    case 'onboard-validated':
      return 'Accepted for management (validated)';
    case 'onboard-unvalidated':
      return 'Accepted for management without product validation';
    case 'onboard-out-of-range':
      return 'Outside the third-party management range';
    case 'upgrade-path-supported':
      return 'Supported upgrade path';
    case 'upgrade-path-unsupported':
      return 'Unsupported upgrade path';
    case 'upgrade-path-same-release':
      return 'Already on that release';
    case 'upgrade-path-downgrade':
      return 'Platform downgrades are not supported';
    case 'workload-release-allowed':
      return 'Global cluster already on that release';
    case 'workload-ahead-of-global':
      return 'Workload cluster ahead of the global cluster';
    case 'gate-open':
      return 'Global upgrade may proceed';
    case 'gate-blocked':
      return 'Global upgrade blocked by workload clusters';
    case 'below-latest-compatible':
      return 'Below the latest compatible Kubernetes version';
    case 'outside-compatible-range':
      return "Outside the target release's compatible versions";
    case 'control-plane-step-ok':
      return 'Control plane moves one minor';
    case 'control-plane-no-change':
      return 'Control plane stays on its minor';
    case 'control-plane-skips-minor':
      return 'Control plane would skip a minor';
    case 'control-plane-downgrade':
      return 'Control plane downgrades are not supported';
    case 'kubelet-skew-ok':
      return 'Kubelet within skew';
    case 'kubelet-newer-than-api-server':
      return 'Kubelet newer than the API server';
    case 'kubelet-too-old':
      return 'Kubelet too far behind the API server';
    case 'on-target':
      return 'Already on the target';
    case 'optional-upgrade-after':
      return 'May upgrade after the global cluster';
    case 'upgrade-required':
      return 'Must upgrade before the global cluster';
    case 'provider-upgrade-required':
      return 'Provider must upgrade before the global cluster';
    case 'provider-managed':
      return 'Kubernetes managed by the provider';
    case 'newer-than-target':
      return 'Newer than the target release supports';
    case 'older-than-supported-path':
      return 'Older than any supported upgrade path';
    case 'node-pool-version-invalid':
      return 'Node pool reports no valid version';
    case 'duplicate-cluster-id':
      return 'Cluster id appears more than once';
    case 'concurrency-invalid':
      return 'Invalid maximum concurrency';
  }
}
