/** Why bootstrap data could not be rendered. Each names the input field at fault. */
export type BootstrapDataErrorCode =
  | 'cluster-id-mismatch'
  | 'node-name-invalid'
  | 'node-address-invalid'
  | 'node-pool-unknown'
  | 'node-role-invalid'
  | 'control-plane-endpoint-invalid'
  | 'control-plane-vip-invalid'
  | 'kubernetes-version-unsupported'
  | 'label-invalid'
  | 'label-restricted'
  | 'taint-invalid'
  | 'node-os-unsupported'
  | 'ssh-user-invalid'
  | 'ssh-key-invalid';

export function describeBootstrapDataErrorCode(code: BootstrapDataErrorCode): string {
  switch (code) {
    case 'cluster-id-mismatch':
      return 'the join secrets belong to another cluster';
    case 'node-name-invalid':
      return 'the node name is not a DNS label';
    case 'node-address-invalid':
      return 'the node address is not an IP address';
    case 'node-pool-unknown':
      return 'the node pool is not in the cluster spec';
    case 'node-role-invalid':
      return 'the first node of a cluster must be a control-plane node';
    case 'control-plane-endpoint-invalid':
      return 'the control-plane endpoint is not host[:port]';
    case 'control-plane-vip-invalid':
      return 'the control-plane virtual IP is not an IP address';
    case 'kubernetes-version-unsupported':
      return 'kubeadm configuration files need Kubernetes 1.22 or newer';
    case 'label-invalid':
      return 'not a valid Kubernetes label';
    case 'label-restricted':
      return 'the kubelet may not set labels in the kubernetes.io and k8s.io namespaces';
    case 'taint-invalid':
      return 'not a valid Kubernetes taint';
    case 'node-os-unsupported':
      return 'no bootstrap format for this node OS';
    case 'ssh-user-invalid':
      return 'not a valid user name';
    case 'ssh-key-invalid':
      return 'not a single-line OpenSSH public key';
  }
}

/** Bad input to a renderer. The message names the field and never carries a secret. */
export class BootstrapDataError extends Error {
  override readonly name = 'BootstrapDataError';

  constructor(
    readonly code: BootstrapDataErrorCode,
    readonly field: string,
    detail?: string,
  ) {
    super(`${field}: ${describeBootstrapDataErrorCode(code)}${detail ? ` (${detail})` : ''}`);
  }
}
