import type { LoggerService } from '@nestjs/common';
import { planMachines, type HostRef, type MachineRole } from '../domain/machine-plan.js';
import type { JoinRequest, JoinResult, NodeBootstrapper, NodeRef, UpgradeRequest } from '../bootstrap/node-bootstrapper.js';
import { kubeletVersionFor } from '../bootstrap/simulated.bootstrapper.js';
import { asRoot, maskSecrets, shellQuote, trimOutput, uploadScript } from './commands.js';
import { FACTS_SCRIPT, parseFacts, type HostFacts } from './facts.js';
import type { HostRecords, RecordedFacts } from './host-records.js';
import { secretValues, type JoinSecretsSource, type KubeadmAction } from './kubeadm-inputs.js';
import { API_SERVER_PORT, KUBEADM_CONFIG_PATH, kubeadmDuration, renderKubeadmConfig } from '../bootstrap/render/kubeadm.js';
import type { JoinMaterialIssuer } from '../bootstrap/join-material-issuer.js';
import { CA_CERT_PATH, CA_KEY_PATH } from '../bootstrap/render/plan.js';
import { KUBE_VIP_MANIFEST_PATH, renderKubeVipManifest } from '../bootstrap/render/kube-vip.js';
import { controlPlaneVipEndpoint } from '../domain/endpoint.js';
import { BootstrapDataError } from '../bootstrap/render/errors.js';
import { describePreflightFailures, evaluatePreflight } from './preflight.js';
import { SshError } from './ssh-errors.js';
import type { SshKeySource } from './ssh-keys.js';
import type { CredentialUse } from '@flotilla/auth';
import { DEFAULT_SSH_TIMEOUTS, SshSession, describeTarget, type SshTarget, type SshTimeouts } from './ssh-session.js';

const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
const REMOVE_PREFIX = 'remove/';
/** Steps that renew join material, recorded on the first control-plane host and run each time they are needed. */
const JOIN_MATERIAL_PREFIX = 'join-material/';

/** A host of the cluster as the installer sees it: the machine it is, and how to reach it when known. */
interface ClusterHost {
  machine: string;
  role: MachineRole;
  host: HostRef | null;
}

/** The first control-plane host: where kubeadm init runs and kubectl is used from. */
interface FirstControlPlane {
  machine: string;
  host: HostRef;
}

/** A step failed on the host: the machine fails with this message. */
class StepFailed extends Error {}

/** Hosts may carry the fingerprint their key must have (otherwise the first key seen is pinned). */
function targetOf(host: HostRef): SshTarget {
  return { address: host.address, port: host.port, user: host.user, expectedHostKey: host.hostKeyFingerprint ?? null };
}

/** `Kubernetes v1.34.2` → `v1.34.2`. */
function parseKubeletVersion(output: string): string | null {
  return /\bv\d+\.\d+\.\d+\S*/.exec(output)?.[0] ?? null;
}

/** The kubelet and kubectl packages at a version, with the host's package manager. */
export function kubeletPackageCommand(facts: HostFacts | null, version: string): string {
  const plain = version.replace(/^v/, '');
  switch (facts?.osId) {
    case 'ubuntu':
    case 'debian':
      return `apt-get install -y --allow-change-held-packages kubelet=${plain}-* kubectl=${plain}-*`;
    case 'sles':
    case 'opensuse-leap':
      return `zypper --non-interactive install --oldpackage kubelet-${plain} kubectl-${plain}`;
    default:
      return `dnf install -y --disableexcludes=kubernetes kubelet-${plain} kubectl-${plain}`;
  }
}

/** Where each use of a stored SSH key is recorded (the service's audit trail). */
export interface CredentialUseRecorder {
  recordUse(use: CredentialUse): Promise<void>;
}

/**
 * Installs Kubernetes with kubeadm on machines users bring, over SSH. Every call is idempotent:
 * facts are gathered once per host, each step is recorded (command, exit code, masked output)
 * and a step that succeeded is not run again. Failures that retrying cannot fix (an unknown or
 * refused key, a changed host key, a failed preflight check, a failed step) answer `failed`;
 * an unreachable host or a lost connection throws an SshError, which the reconciler retries.
 */
export class SshBootstrapper implements NodeBootstrapper {
  constructor(
    private readonly keys: SshKeySource,
    private readonly records: HostRecords,
    private readonly joinSecrets: JoinSecretsSource,
    private readonly audit: CredentialUseRecorder,
    private readonly logger: Pick<LoggerService, 'log' | 'warn'>,
    private readonly timeouts: SshTimeouts = DEFAULT_SSH_TIMEOUTS,
  ) {}

  async joinNode(request: JoinRequest): Promise<JoinResult> {
    try {
      return await this.join(request);
    } catch (error) {
      return this.failedUnlessTransient(error);
    }
  }

  async nodeReady(node: NodeRef): Promise<boolean> {
    const first = this.firstControlPlane(node);
    if (!first) return false;
    // A health check reads, every few seconds per node: only a failed use is worth a record.
    const result = await this.withSession(
      node.clusterId,
      first.host,
      (session) => session.run(asRoot(first.host.user, `kubectl --kubeconfig ${ADMIN_KUBECONFIG} get node ${shellQuote(node.name)} -o json`)),
      'failures',
    );
    if (result.exitCode !== 0) return false;
    try {
      const parsed = JSON.parse(result.output) as { status?: { conditions?: { type?: string; status?: string }[] } };
      return parsed.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
    } catch {
      return false;
    }
  }

  async upgradeNode(request: UpgradeRequest): Promise<JoinResult> {
    try {
      return await this.upgrade(request);
    } catch (error) {
      return this.failedUnlessTransient(error);
    }
  }

  async removeNode(node: NodeRef): Promise<void> {
    const host = this.hostOf(node);
    const first = this.firstControlPlane(node);
    if (first && (await this.initSucceeded(node.clusterId, first.machine))) {
      await this.withSession(node.clusterId, first.host, async (session) => {
        const drain = await this.runStep(session, node.clusterId, node.name, `${REMOVE_PREFIX}drain`, `kubectl --kubeconfig ${ADMIN_KUBECONFIG} drain ${shellQuote(node.name)} --ignore-daemonsets --delete-emptydir-data --force --timeout=300s`, { rerun: true, allowFailure: true });
        // A node already gone from the API is drained.
        if (drain.exitCode !== 0 && !/not ?found/i.test(drain.output)) throw new StepFailed(`${node.name}: drain failed (exit ${drain.exitCode}): ${lastLine(drain.output)}`);
        await this.runStep(session, node.clusterId, node.name, `${REMOVE_PREFIX}delete-node`, `kubectl --kubeconfig ${ADMIN_KUBECONFIG} delete node ${shellQuote(node.name)} --ignore-not-found`, { rerun: true });
      });
    }
    await this.withSession(node.clusterId, host, async (session) => {
      await this.runStep(session, node.clusterId, node.name, `${REMOVE_PREFIX}kubeadm-reset`, 'kubeadm reset -f', { rerun: true });
    });
    await this.records.forgetInstall(node.clusterId, node.name, REMOVE_PREFIX);
    this.logger.log(`${node.name}: removed from cluster ${node.clusterId}`);
  }

  private async join(request: JoinRequest): Promise<JoinResult> {
    const { clusterId, name } = request;
    const host = this.hostOf(request);
    const installed = await this.installedVersion(clusterId, name);
    if (installed) return { state: 'joined', kubeletVersion: installed };

    // 1. Facts of this host, once.
    let recorded = await this.records.facts(clusterId);
    if (!recorded.some((entry) => entry.machine === name)) {
      const result = await this.withSession(clusterId, host, (session) => session.run('sh -s', FACTS_SCRIPT));
      await this.records.saveFacts(clusterId, { machine: name, role: request.role, address: host.address, facts: parseFacts(result.output) });
      recorded = await this.records.facts(clusterId);
    }

    // 2. Preflight over every host of the cluster (hostnames must differ): wait for all their facts.
    const hosts = this.clusterHosts(request, recorded);
    const gathered = new Map(recorded.map((entry) => [entry.machine, entry]));
    if (hosts.some((peer) => !gathered.has(peer.machine))) return { state: 'joining' };
    const reports = evaluatePreflight(hosts.map((peer) => ({ machine: peer.machine, role: peer.role, facts: gathered.get(peer.machine)!.facts })));
    await this.records.saveChecks(clusterId, reports);
    const failures = describePreflightFailures(reports);
    if (failures) return { state: 'failed', message: failures };

    // 3. kubeadm: init on the first control-plane host, then everyone else joins.
    const first = this.firstControlPlane(request);
    if (!first) return { state: 'failed', message: `${name}: the cluster has no control-plane host to join (hosted control planes are not installed over SSH)` };
    const action: KubeadmAction = first.machine === name ? 'init' : request.role === 'control-plane' ? 'join-control-plane' : 'join-worker';
    if (action !== 'init' && !(await this.initSucceeded(clusterId, first.machine))) return { state: 'joining' };

    // init creates the first token and uploads the certificates; a later join may find them gone
    // (a host added weeks after, or 2 h after init for a control plane), and gets fresh ones from
    // the running cluster, lasting at least as long as the join command may run.
    const secrets =
      action === 'init'
        ? await this.joinSecrets.forCluster(clusterId)
        : await this.joinSecrets.forJoin(clusterId, { controlPlane: action === 'join-control-plane', windowMs: this.timeouts.commandMs }, this.issuerOn(first));
    const mask = secretValues(secrets);
    // The virtual IP kube-vip holds on one control-plane host at a time; clusters accepted before
    // one was asked for keep the first control-plane host's address their nodes were joined at.
    const vip = request.spec.model === 'user-provisioned' ? request.spec.controlPlane.vip : undefined;
    const config = renderKubeadmConfig({
      clusterId,
      spec: request.spec,
      node: { name, role: request.role, pool: request.pool, first: action === 'init', address: host.address },
      controlPlaneEndpoint: controlPlaneVipEndpoint(request.spec) ?? `${first.host.address}:${API_SERVER_PORT}`,
      secrets,
    });
    const kubeVip = vip !== undefined && action !== 'join-worker' ? (initHost: boolean) => renderKubeVipManifest({ vip, kubernetesVersion: request.spec.kubernetesVersion, first: initHost }) : undefined;
    const version = await this.withSession(clusterId, host, async (session) => {
      const run = (step: string, script: string, stdin?: string, rerun = false) => this.runStep(session, clusterId, name, step, script, { stdin, mask, rerun });
      // A join retried after a lost connection writes the configuration again: its token may have been renewed since.
      await run('write-kubeadm-config', uploadScript(KUBEADM_CONFIG_PATH, '600'), Buffer.from(config).toString('base64'), action !== 'init');
      // kube-vip runs on every control-plane host from its kubelet's start: on the first it holds
      // the address before init needs it, on the others it takes over when its holder goes.
      if (kubeVip) await run('write-kube-vip-manifest', uploadScript(KUBE_VIP_MANIFEST_PATH, '600'), Buffer.from(kubeVip(action === 'init')).toString('base64'));
      if (action === 'init') {
        // The cluster CA is made beforehand so joins can pin its hash; kubeadm uses it when present.
        await run('write-cluster-ca', uploadScript(CA_CERT_PATH, '644'), Buffer.from(secrets.ca.certificatePem).toString('base64'));
        await run('write-cluster-ca-key', uploadScript(CA_KEY_PATH, '600'), Buffer.from(secrets.ca.privateKeyPem).toString('base64'));
        // A host that already is a node (init done, answer lost) is not initialised twice.
        await run('kubeadm-init', `test -f /etc/kubernetes/kubelet.conf || kubeadm init --config ${KUBEADM_CONFIG_PATH} --upload-certs`);
        // Init made admin.conf's rights: kube-vip drops the break-glass super-admin.conf.
        if (kubeVip) await run('kube-vip-admin-kubeconfig', uploadScript(KUBE_VIP_MANIFEST_PATH, '600'), Buffer.from(kubeVip(false)).toString('base64'));
      } else {
        // kubeadm before 1.23 refuses to join a control plane whose manifests directory holds anything (kube-vip's).
        const ignore = kubeVip && minorOf(request.spec.kubernetesVersion) < 23 ? ' --ignore-preflight-errors=DirAvailable--etc-kubernetes-manifests' : '';
        await run('kubeadm-join', `test -f /etc/kubernetes/kubelet.conf || kubeadm join --config ${KUBEADM_CONFIG_PATH}${ignore}`);
      }
      const reported = await run('kubelet-version', 'kubelet --version');
      return parseKubeletVersion(reported.output);
    });
    if (!version) return { state: 'failed', message: `${name}: kubelet --version printed no version` };
    this.logger.log(`${name}: ${action} done on ${describeTarget(targetOf(host))}, kubelet ${version}`);
    return { state: 'joined', kubeletVersion: version };
  }

  private async upgrade(request: UpgradeRequest): Promise<JoinResult> {
    const { clusterId, name } = request;
    const host = this.hostOf(request);
    const target = kubeletVersionFor(request.toVersion);
    const prefix = `upgrade-${target}/`;
    const done = await this.records.step(clusterId, name, `${prefix}kubelet-version`);
    if (done?.exitCode === 0 && parseKubeletVersion(done.output) === target) return { state: 'joined', kubeletVersion: target };

    const facts = (await this.records.facts(clusterId)).find((entry) => entry.machine === name)?.facts ?? null;
    const version = await this.withSession(clusterId, host, async (session) => {
      const run = (step: string, script: string) => this.runStep(session, clusterId, name, `${prefix}${step}`, script);
      await run('kubeadm-upgrade', request.first ? `kubeadm upgrade apply ${target} -y` : 'kubeadm upgrade node');
      await run('kubelet-package', kubeletPackageCommand(facts, target));
      await run('kubelet-restart', 'systemctl daemon-reload && systemctl restart kubelet');
      return parseKubeletVersion((await run('kubelet-version', 'kubelet --version')).output);
    });
    if (version !== target) return { state: 'failed', message: `${name}: after the upgrade the kubelet reports ${version ?? 'no version'}, expected ${target}` };
    this.logger.log(`${name}: upgraded to ${target}`);
    return { state: 'joined', kubeletVersion: target };
  }

  /**
   * Join material made on the first control-plane host, where the admin kubeconfig is: a token
   * (`kubeadm token create`) and the certificates uploaded again under the cluster's key. The
   * values travel in the command (kubeadm takes them no other way) and are masked in the records.
   */
  private issuerOn(first: FirstControlPlane): JoinMaterialIssuer {
    const run = async (clusterId: string, step: string, script: string, secret: string): Promise<void> => {
      await this.withSession(clusterId, first.host, (session) => this.runStep(session, clusterId, first.machine, `${JOIN_MATERIAL_PREFIX}${step}`, script, { mask: [secret], rerun: true }));
    };
    return {
      createBootstrapToken: (clusterId, token, ttlMs) =>
        run(clusterId, 'token-create', `kubeadm token create ${shellQuote(token)} --ttl ${kubeadmDuration(ttlMs)} --description ${shellQuote(`Flotilla join token of cluster ${clusterId}`)} --kubeconfig ${ADMIN_KUBECONFIG}`, token),
      uploadCertificates: (clusterId, certificateKey) => run(clusterId, 'upload-certs', `kubeadm init phase upload-certs --upload-certs --certificate-key ${shellQuote(certificateKey)}`, certificateKey),
    };
  }

  /**
   * Runs one recorded step as root. A step that succeeded before is not run again (unless
   * `rerun`); a failed one answers with StepFailed unless `allowFailure`.
   */
  private async runStep(
    session: SshSession,
    clusterId: string,
    machine: string,
    step: string,
    script: string,
    options: { stdin?: string | undefined; mask?: readonly string[]; rerun?: boolean; allowFailure?: boolean } = {},
  ): Promise<{ exitCode: number; output: string }> {
    const previous = await this.records.step(clusterId, machine, step);
    if (!options.rerun && previous?.exitCode === 0) return { exitCode: 0, output: previous.output };
    const mask = options.mask ?? [];
    await this.records.stepStarted(clusterId, machine, step, maskSecrets(script, mask));
    const result = await session.run(asRoot(session.target.user, script), options.stdin);
    const output = trimOutput(maskSecrets(result.output, mask));
    await this.records.stepFinished(clusterId, machine, step, result.exitCode, output);
    this.logger.log(`${machine}: step ${step} exited ${result.exitCode}`);
    if (result.exitCode !== 0 && !options.allowFailure) throw new StepFailed(`${machine}: step ${step} failed (exit ${result.exitCode}): ${lastLine(output)}`);
    return { exitCode: result.exitCode, output };
  }

  /**
   * The one place a stored SSH key is opened: every use is audited (the key ref and host, never
   * the key), except the successful ones of read-only checks (`audit: 'failures'`).
   */
  private async withSession<T>(clusterId: string, host: HostRef, work: (session: SshSession) => Promise<T>, audit: 'every-use' | 'failures' = 'every-use'): Promise<T> {
    const target = targetOf(host);
    const key = `SSH key "${host.sshKeyRef}"`;
    let session: SshSession;
    try {
      const privateKey = await this.keys.privateKey(host.sshKeyRef);
      if (!privateKey) throw new SshError('key-unknown', describeTarget(target), `no SSH key "${host.sshKeyRef}"`);
      session = await SshSession.connect(target, privateKey, this.records, this.timeouts);
    } catch (error) {
      // SshError messages name the host and what failed, never key material.
      await this.audit.recordUse({ what: 'ssh-key', clusterId, ok: false, reason: `${key}: ${error instanceof SshError ? error.message : `no session to ${describeTarget(target)}`}` });
      throw error;
    }
    if (audit === 'every-use') await this.audit.recordUse({ what: 'ssh-key', clusterId, ok: true, reason: `${key} for ${describeTarget(target)}` });
    try {
      return await work(session);
    } finally {
      session.close();
    }
  }

  private failedUnlessTransient(error: unknown): JoinResult {
    if (error instanceof SshError && error.transient) {
      this.logger.warn(error.message);
      throw error;
    }
    if (error instanceof SshError || error instanceof StepFailed || error instanceof BootstrapDataError) {
      this.logger.warn(error.message);
      return { state: 'failed', message: error.message };
    }
    throw error;
  }

  private hostOf(node: NodeRef): HostRef {
    if (!node.host) throw new StepFailed(`${node.name}: not a user's host (no SSH address)`);
    return node.host;
  }

  /** The cluster's hosts: the planned ones, those recorded before (added later), and this one. */
  private clusterHosts(node: NodeRef, recorded: readonly RecordedFacts[]): ClusterHost[] {
    const hosts = new Map<string, ClusterHost>();
    for (const planned of planMachines(node.clusterId, node.spec)) if (planned.host) hosts.set(planned.name, { machine: planned.name, role: planned.role, host: planned.host });
    for (const entry of recorded) if (!hosts.has(entry.machine)) hosts.set(entry.machine, { machine: entry.machine, role: entry.role, host: null });
    if (node.host && !hosts.has(node.name)) hosts.set(node.name, { machine: node.name, role: node.role, host: node.host });
    return [...hosts.values()];
  }

  private firstControlPlane(node: NodeRef): FirstControlPlane | undefined {
    const first = this.clusterHosts(node, []).find((peer) => peer.role === 'control-plane');
    return first?.host ? { machine: first.machine, host: first.host } : undefined;
  }

  private async initSucceeded(clusterId: string, firstMachine: string): Promise<boolean> {
    return (await this.records.step(clusterId, firstMachine, 'kubeadm-init'))?.exitCode === 0;
  }

  /** The kubelet version once the node joined, from its recorded steps; null before. */
  private async installedVersion(clusterId: string, machine: string): Promise<string | null> {
    const reported = await this.records.step(clusterId, machine, 'kubelet-version');
    return reported?.exitCode === 0 ? parseKubeletVersion(reported.output) : null;
  }
}

/** `1.22` and `v1.22.4` → 22. */
function minorOf(version: string): number {
  return Number(version.replace(/^v/, '').split('.')[1]);
}

function lastLine(output: string): string {
  const lines = output.split('\n').filter((line) => line.trim().length > 0);
  return lines[lines.length - 1] ?? '(no output)';
}
