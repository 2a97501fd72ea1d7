import { isIP } from 'node:net';
import { stringify } from 'yaml';
import { BootstrapDataError } from './errors.js';
import { API_SERVER_PORT, kubeadmVersion, quote } from './kubeadm.js';

/** The kubelet starts every manifest here as a static pod, before and without the API server. */
export const KUBE_VIP_MANIFEST_PATH = '/etc/kubernetes/manifests/kube-vip.yaml';
export const KUBE_VIP_IMAGE = 'ghcr.io/kube-vip/kube-vip:v0.8.9';
/** From 1.29 kubeadm's admin.conf gets its rights from the cluster itself, which is not up yet while init runs. */
const FIRST_SUPER_ADMIN_MINOR = 29;

export interface KubeVipInput {
  /** The cluster's virtual IP: its API endpoint. */
  vip: string;
  kubernetesVersion: string;
  /** The host that runs `kubeadm init` (it holds the address before any other can). */
  first: boolean;
}

/**
 * kube-vip as a static pod for a control-plane host of users' machines: every control-plane host
 * runs it, they elect a leader through a Lease, and the leader answers ARP for the virtual IP,
 * so the API endpoint moves to another control-plane host when its holder goes. Only the
 * control plane's address (no Services). On the host that runs `kubeadm init` from 1.29 it uses
 * super-admin.conf: admin.conf has no rights until init has made them (kube-vip's own advice).
 * The interface is the one of the default route (kube-vip finds it when none is named).
 */
export function renderKubeVipManifest(input: KubeVipInput): string {
  if (isIP(input.vip) === 0) throw new BootstrapDataError('control-plane-vip-invalid', 'spec.controlPlane.vip', quote(input.vip));
  const minor = Number(kubeadmVersion(input.kubernetesVersion).split('.')[1]);
  const kubeconfig = input.first && minor >= FIRST_SUPER_ADMIN_MINOR ? '/etc/kubernetes/super-admin.conf' : '/etc/kubernetes/admin.conf';
  const env = {
    vip_arp: 'true',
    port: String(API_SERVER_PORT),
    address: input.vip,
    cp_enable: 'true',
    cp_namespace: 'kube-system',
    svc_enable: 'false',
    vip_leaderelection: 'true',
    vip_leasename: 'plndr-cp-lock',
    vip_leaseduration: '5',
    vip_renewdeadline: '3',
    vip_retryperiod: '1',
  };
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'kube-vip', namespace: 'kube-system' },
    spec: {
      containers: [
        {
          name: 'kube-vip',
          image: KUBE_VIP_IMAGE,
          imagePullPolicy: 'IfNotPresent',
          args: ['manager'],
          env: Object.entries(env).map(([name, value]) => ({ name, value })),
          securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] } },
          volumeMounts: [{ mountPath: '/etc/kubernetes/admin.conf', name: 'kubeconfig' }],
        },
      ],
      hostAliases: [{ hostnames: ['kubernetes'], ip: '127.0.0.1' }],
      hostNetwork: true,
      volumes: [{ name: 'kubeconfig', hostPath: { path: kubeconfig } }],
    },
  };
  return stringify(pod, { lineWidth: 0 });
}
