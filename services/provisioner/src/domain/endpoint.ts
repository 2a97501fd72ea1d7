import type { ClusterSpec } from '@flotilla/contracts';

/** The API servers' port (kubeadm's default), behind every endpoint the provisioner makes. */
export const API_SERVER_PORT = 6443;

/** `host:port`, an IPv6 address in brackets: as kubeadm and kubeconfigs take it. */
export function joinHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The API endpoint of a control plane on users' hosts: the virtual IP kube-vip holds on one of
 * them at a time (`controlPlane.vip`). Undefined for other models, and for clusters accepted
 * before a virtual IP was asked for (their hosts joined at the first control-plane host).
 */
export function controlPlaneVipEndpoint(spec: ClusterSpec): string | undefined {
  const vip = spec.model === 'user-provisioned' ? spec.controlPlane?.vip : undefined;
  return vip !== undefined ? joinHostPort(vip, API_SERVER_PORT) : undefined;
}
