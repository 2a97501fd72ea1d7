/**
 * The running cluster's side of join material, what kubeadm does on a control-plane node: a
 * bootstrap token created (`kubeadm token create`), the control-plane certificates uploaded
 * again, encrypted with the certificate key (`kubeadm init phase upload-certs`). Platform
 * clusters are reached through their API (the simulated cloud's equivalent here), users' hosts
 * over SSH on a control-plane host. A call that fails throws; nothing is stored until both the
 * call and the cluster agree.
 */
export interface JoinMaterialIssuer {
  /** Creates `token` in the cluster, lasting `ttlMs` from now (the Secret `kube-system/bootstrap-token-<id>`). */
  createBootstrapToken(clusterId: string, token: string, ttlMs: number): Promise<void>;
  /** Uploads the certificates encrypted with `certificateKey` (the Secret `kube-system/kubeadm-certs`, which kubeadm keeps two hours). */
  uploadCertificates(clusterId: string, certificateKey: string): Promise<void>;
}

/** Nest injection token of the platform clusters' issuer. */
export const JOIN_MATERIAL_ISSUER = Symbol('JOIN_MATERIAL_ISSUER');
