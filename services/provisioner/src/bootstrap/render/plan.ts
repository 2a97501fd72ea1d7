import { BootstrapDataError } from './errors.js';
import { checkNodeName, KUBEADM_CONFIG_PATH, type KubeadmConfigInput, renderKubeadmConfig } from './kubeadm.js';

/** The immutable OS families platform machines boot (`ClusterSpec.nodeOs`). */
export type NodeOs = 'microos' | 'flatcar' | 'fedora-coreos';
export const NODE_OSES: readonly NodeOs[] = ['microos', 'flatcar', 'fedora-coreos'];

/** Modes are numbers (Ignition wants them as decimal integers): 0o644 is 420, 0o600 is 384. */
export const MODE_PUBLIC = 0o644;
export const MODE_SECRET = 0o600;

export interface BootstrapFile {
  /** Absolute. */
  path: string;
  mode: number;
  contents: string;
  /** Holds join material: written 0600, and encoded rather than shown in the clear. */
  secret: boolean;
}

export interface BootstrapUnit {
  /** `<name>.service`. */
  name: string;
  /** The unit file, for units the data brings; absent for units the OS image ships. */
  contents?: string;
}

/** The platform's break-glass access to the machine. */
export interface BreakGlassAccess {
  user: string;
  /** OpenSSH public keys, one per entry. */
  authorizedKeys: string[];
}

/**
 * What a machine must do on first boot, whatever the format: Ignition and Combustion are two
 * encodings of the same plan, so they cannot drift apart.
 */
export interface NodeBootstrapPlan {
  hostname: string;
  files: BootstrapFile[];
  /** Units to enable, in order. */
  units: BootstrapUnit[];
  breakGlass: BreakGlassAccess | null;
}

export interface NodeBootstrapInput extends KubeadmConfigInput {
  nodeOs: NodeOs;
  breakGlass?: BreakGlassAccess | null;
}

export const BOOTSTRAP_UNIT = 'kubeadm-bootstrap.service';
export const CA_CERT_PATH = '/etc/kubernetes/pki/ca.crt';
export const CA_KEY_PATH = '/etc/kubernetes/pki/ca.key';

export const SYSCTL = ['net.ipv4.ip_forward = 1', 'net.ipv6.conf.all.forwarding = 1', 'net.bridge.bridge-nf-call-iptables = 1', 'net.bridge.bridge-nf-call-ip6tables = 1', ''].join('\n');
export const MODULES = ['overlay', 'br_netfilter', ''].join('\n');

/** The kubelet and kubeadm expect the systemd cgroup driver. */
export const CONTAINERD_CONFIG = `version = 2

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = true
`;

/** Flatcar's containerd reads its configuration from /usr unless told otherwise. */
const FLATCAR_CONTAINERD_DROP_IN = `[Service]
Environment=CONTAINERD_CONFIG=/etc/containerd/config.toml
`;

export function planNodeBootstrap(input: NodeBootstrapInput): NodeBootstrapPlan {
  if (!NODE_OSES.includes(input.nodeOs)) throw new BootstrapDataError('node-os-unsupported', 'nodeOs', JSON.stringify(String(input.nodeOs)));
  checkNodeName(input.node.name, 'node.name');
  const breakGlass = input.breakGlass ? checkBreakGlass(input.breakGlass) : null;
  const init = input.node.first;
  const files: BootstrapFile[] = [
    { path: '/etc/hostname', mode: MODE_PUBLIC, contents: `${input.node.name}\n`, secret: false },
    { path: '/etc/sysctl.d/90-kubernetes.conf', mode: MODE_PUBLIC, contents: SYSCTL, secret: false },
    { path: '/etc/modules-load.d/kubernetes.conf', mode: MODE_PUBLIC, contents: MODULES, secret: false },
    { path: '/etc/containerd/config.toml', mode: MODE_PUBLIC, contents: CONTAINERD_CONFIG, secret: false },
    { path: KUBEADM_CONFIG_PATH, mode: MODE_SECRET, contents: renderKubeadmConfig(input), secret: true },
  ];
  if (input.nodeOs === 'flatcar') {
    files.push({ path: '/etc/systemd/system/containerd.service.d/10-flotilla-config.conf', mode: MODE_PUBLIC, contents: FLATCAR_CONTAINERD_DROP_IN, secret: false });
  }
  if (init) {
    // kubeadm init keeps a CA it finds, so the hash other nodes pin is the one made beforehand.
    files.push(
      { path: CA_CERT_PATH, mode: MODE_PUBLIC, contents: input.secrets.ca.certificatePem, secret: false },
      { path: CA_KEY_PATH, mode: MODE_SECRET, contents: input.secrets.ca.privateKeyPem, secret: true },
    );
  }
  return {
    hostname: input.node.name,
    files,
    units: [{ name: 'containerd.service' }, { name: 'kubelet.service' }, { name: BOOTSTRAP_UNIT, contents: bootstrapUnit(init) }],
    breakGlass,
  };
}

/**
 * Runs kubeadm once: `ConditionPathExists` stops it once the node has a kubelet.conf, so a reboot
 * does not run it again. Joins are retried until the control plane answers (the reconciler's
 * machine timeout bounds the wait); a failed join is reset first so preflight passes. A failed
 * init is not reset: that would delete the CA the other nodes pin.
 */
function bootstrapUnit(init: boolean): string {
  const command = init ? `/usr/bin/kubeadm init --config ${KUBEADM_CONFIG_PATH} --upload-certs` : `/usr/bin/kubeadm join --config ${KUBEADM_CONFIG_PATH}`;
  return [
    '[Unit]',
    `Description=Kubernetes node bootstrap (kubeadm ${init ? 'init' : 'join'})`,
    'Wants=network-online.target containerd.service',
    'After=network-online.target containerd.service systemd-modules-load.service systemd-sysctl.service',
    'ConditionPathExists=!/etc/kubernetes/kubelet.conf',
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    'Type=oneshot',
    'RemainAfterExit=yes',
    ...(init ? [] : ['ExecStartPre=-/usr/bin/kubeadm reset --force']),
    `ExecStart=${command}`,
    'Restart=on-failure',
    'RestartSec=20s',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const SSH_PUBLIC_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [\x20-\x7e]*)?$/;

function checkBreakGlass(access: BreakGlassAccess): BreakGlassAccess {
  if (!USER_NAME.test(access.user)) throw new BootstrapDataError('ssh-user-invalid', 'breakGlass.user', JSON.stringify(access.user.slice(0, 40)));
  access.authorizedKeys.forEach((key, index) => {
    if (!SSH_PUBLIC_KEY.test(key)) throw new BootstrapDataError('ssh-key-invalid', `breakGlass.authorizedKeys[${index}]`);
  });
  return { user: access.user, authorizedKeys: [...access.authorizedKeys] };
}
