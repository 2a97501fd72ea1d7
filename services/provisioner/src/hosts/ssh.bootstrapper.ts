import type { LoggerService } from '@nestjs/common';
import { planMachines, type HostRef, type MachineRole } from '../domain/machine-plan.js';
import type { JoinRequest, JoinResult, NodeBootstrapper, NodeRef, RemoveOptions, UpgradeRequest } from '../bootstrap/node-bootstrapper.js';
import { kubeletVersionFor } from '../bootstrap/simulated.bootstrapper.js';
import { asRoot, shellQuote } from './commands.js';
import { FACTS_SCRIPT, parseFacts, type HostFacts } from './facts.js';
import { familyOf, installPrerequisites, undoChanges, upgradeKubeadm, upgradeKubelet } from './host-install.js';
import { packageVersion } from './host-packages.js';
import type { HostRecords, RecordedFacts } from './host-records.js';
import { HostSteps, lastLine, StepFailed } from './host-steps.js';
import { secretValues, type JoinSecretsSource, type KubeadmAction } from './kubeadm-inputs.js';
import { API_SERVER_PORT, KUBEADM_CONFIG_PATH, kubeadmDuration, renderKubeadmConfig } from '../bootstrap/render/kubeadm.js';
import type { JoinMaterialIssuer } from '../bootstrap/join-material-issuer.js';
import type { JoinSecrets } from '../bootstrap/join-secrets.js';
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

/** A control-plane host: the first runs kubeadm init; any one that answers runs kubectl and kubeadm's cluster-wide commands. */
interface ControlPlaneHost {
  machine: string;
  host: HostRef;
}

/**
 * Removes the etcd member named after a node, through the etcd static pod of the control-plane
 * node it runs on (etcdctl comes with the pod, not the host); a member already gone is done.
 */
function removeEtcdMemberScript(onNode: string, member: string): string {
  const etcdctl = `kubectl --kubeconfig ${ADMIN_KUBECONFIG} -n kube-system exec ${shellQuote(`etcd-${onNode}`)} -- etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key`;
  return [
    `members=$(${etcdctl} member list) || exit 1`,
    `id=$(printf '%s\\n' "$members" | awk -F', ' -v name=${shellQuote(member)} '$3 == name { print $1 }')`,
    `if [ -z "$id" ]; then echo no etcd member named ${shellQuote(member)}; else ${etcdctl} member remove "$id"; fi`,
  ].join('\n');
}

/** Hosts may carry the fingerprint their key must have (otherwise the first key seen is pinned). */
function targetOf(host: HostRef): SshTarget {
  return { address: host.address, port: host.port, user: host.user, expectedHostKey: host.hostKeyFingerprint ?? null };
}

/** `Kubernetes v1.34.2` → `v1.34.2`. */
function parseKubeletVersion(output: string): string | null {
  return /\bv\d+\.\d+\.\d+\S*/.exec(output)?.[0] ?? null;
}

/**
 * Where the workers of a hosted cluster get what `kubeadm join` needs: its control plane's
 * endpoint and a token minted in it lasting `ttlMs` (`TenantClusters`); undefined while the
 * control plane is not Ready.
 */
export interface HostedJoinSource {
  joinMaterial(clusterId: string, ttlMs: number): Promise<{ endpoint: string; secrets: JoinSecrets } | undefined>;
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
    private readonly hostedJoins?: HostedJoinSource,
  ) {}

  async joinNode(request: JoinRequest): Promise<JoinResult> {
    try {
      return await this.join(request);
    } catch (error) {
      return this.failedUnlessTransient(error);
    }
  }

  /** Read on a control-plane host that answers (any of them, so a host that went down does not blind the check). */
  async nodeReady(node: NodeRef): Promise<boolean> {
    // A health check reads, every few seconds per node: only a failed use is worth a record.
    let result: { exitCode: number; output: string } | undefined;
    try {
      result = await this.onControlPlane(
        node,
        async (host, session) => {
          const answer = await session.run(asRoot(session.target.user, `kubectl --kubeconfig ${ADMIN_KUBECONFIG} get node ${shellQuote(node.name)} -o json`));
          // An API server that does not answer there (its host is the one in trouble, say): ask another.
          if (answer.exitCode !== 0 && !/NotFound/.test(answer.output)) throw new StepFailed(`kubectl on ${host.machine} failed (exit ${answer.exitCode}): ${lastLine(answer.output)}`);
          return answer;
        },
        'failures',
      );
    } catch (error) {
      if (error instanceof StepFailed) return false;
      throw error;
    }
    if (!result || result.exitCode !== 0) return false;
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

  /**
   * A worker of a hosted cluster: `kubeadm join` to its TenantControlPlane's endpoint, with a
   * token minted there for the join command's time and the pin of its CA. Waits while the
   * control plane is not Ready. The configuration is written again on each try (a new token).
   */
  private async joinHosted(request: JoinRequest, host: HostRef): Promise<JoinResult> {
    const { clusterId, name } = request;
    if (!this.hostedJoins) return { state: 'failed', message: `${name}: hosted control planes are not joined by this installer` };
    const join = await this.hostedJoins.joinMaterial(clusterId, this.timeouts.commandMs);
    if (!join) return { state: 'joining' };
    const config = renderKubeadmConfig({ clusterId, spec: request.spec, node: { name, role: 'worker', pool: request.pool, first: false, address: host.address }, controlPlaneEndpoint: join.endpoint, secrets: join.secrets });
    const kubelet = await this.withSession(clusterId, host, async (session) => {
      const steps = this.stepsOf(session, clusterId, name, [join.secrets.bootstrapToken]);
      await steps.writeFile('write-kubeadm-config', { path: KUBEADM_CONFIG_PATH, mode: '600', content: config }, { rerun: true });
      await steps.change('kubeadm', 'join', 'kubeadm-join');
      await steps.run('kubeadm-join', `test -f /etc/kubernetes/kubelet.conf || kubeadm join --config ${KUBEADM_CONFIG_PATH}`);
      return parseKubeletVersion((await steps.run('kubelet-version', 'kubelet --version')).output);
    });
    if (!kubelet) return { state: 'failed', message: `${name}: kubelet --version printed no version` };
    this.logger.log(`${name}: joined hosted cluster ${clusterId} at ${join.endpoint} from ${describeTarget(targetOf(host))}, kubelet ${kubelet}`);
    return { state: 'joined', kubeletVersion: kubelet };
  }

  /**
   * Undoes what Flotilla did on the host, and nothing else: a node it joined is drained and
   * deleted (from a control-plane host that answers), a control plane's etcd member removed
   * (from another control-plane host: a host that died cannot remove its own, and a member left
   * behind counts against the quorum), and `kubeadm reset`; the files it wrote get the host's own
   * copies back or go; the packages it installed are removed. A host where nothing was done
   * (preflight failed, a spare never used) is not even connected to; one that cannot be reached
   * is left as it is when `leaveUnreachableHost` says so.
   */
  async removeNode(node: NodeRef, options: RemoveOptions = {}): Promise<void> {
    const host = this.hostOf(node);
    const { clusterId, name } = node;
    const changes = await this.records.changes(clusterId, name);
    // Hosts installed before changes were recorded: their kubeadm step says it ran.
    const joined = changes.some((change) => change.kind === 'kubeadm') || (await this.kubeadmRan(clusterId, name));
    if (changes.length === 0 && !joined) {
      await this.records.forgetInstall(clusterId, name, REMOVE_PREFIX);
      this.logger.log(`${name}: nothing was installed on ${describeTarget(targetOf(host))}; left as it is`);
      return;
    }
    if (joined) {
      await this.onControlPlane(node, async (_cp, session) => {
        const steps = this.stepsOf(session, clusterId, name);
        const drain = await steps.run(`${REMOVE_PREFIX}drain`, `kubectl --kubeconfig ${ADMIN_KUBECONFIG} drain ${shellQuote(name)} --ignore-daemonsets --delete-emptydir-data --force --timeout=300s`, { rerun: true, allowFailure: true });
        // A node already gone from the API is drained.
        if (drain.exitCode !== 0 && !/not ?found/i.test(drain.output)) throw new StepFailed(`${name}: drain failed (exit ${drain.exitCode}): ${lastLine(drain.output)}`);
        await steps.run(`${REMOVE_PREFIX}delete-node`, `kubectl --kubeconfig ${ADMIN_KUBECONFIG} delete node ${shellQuote(name)} --ignore-not-found`, { rerun: true });
      });
      if (node.role === 'control-plane') {
        // From any other control-plane host; none when this is the cluster's last one (it goes with its etcd).
        await this.onControlPlane(node, (cp, session) => this.stepsOf(session, clusterId, name).run(`${REMOVE_PREFIX}etcd-member`, removeEtcdMemberScript(cp.machine, name), { rerun: true }), 'every-use', name);
      }
    }
    const facts = await this.factsOf(clusterId, name);
    try {
      await this.withSession(clusterId, host, async (session) => {
        const steps = this.stepsOf(session, clusterId, name);
        if (joined) await steps.run(`${REMOVE_PREFIX}kubeadm-reset`, 'kubeadm reset -f', { rerun: true });
        await undoChanges(steps, facts, changes, REMOVE_PREFIX);
      });
    } catch (error) {
      if (!(options.leaveUnreachableHost && error instanceof SshError && error.transient)) throw error;
      this.logger.warn(
        `${name}: ${describeTarget(targetOf(host))} still cannot be reached (${error.message}): the node is out of cluster ${clusterId}, and the host is left as it is; ` +
          `what Flotilla changed on it stays listed under the cluster's hosts (${changes.length} changes${joined ? ', and kubeadm reset' : ''}) for an operator to undo`,
      );
      return;
    }
    await this.records.forgetInstall(clusterId, name, REMOVE_PREFIX);
    this.logger.log(`${name}: removed from cluster ${clusterId}; what Flotilla installed is undone`);
  }

  /** Reboots the host (in the background, so the answer comes back first); its kubelet rejoins on boot. */
  async rebootNode(node: NodeRef): Promise<void> {
    await this.withSession(node.clusterId, this.hostOf(node), (session) =>
      this.stepsOf(session, node.clusterId, node.name).run('remediation/reboot', `nohup sh -c 'sleep 1; systemctl reboot' >/dev/null 2>&1 &`, { rerun: true }),
    );
    this.logger.log(`${node.name}: host rebooted after failing its health check`);
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
    const facts = gathered.get(name)!.facts;

    // 3. What kubeadm needs and the host lacks, from the Kubernetes package repository of the cluster's minor.
    const version = packageVersion(kubeletVersionFor(request.kubernetesVersion));
    await this.withSession(clusterId, host, (session) => installPrerequisites(this.stepsOf(session, clusterId, name), facts, version));

    // 4. kubeadm: init on the first control-plane host, then everyone else joins.
    // A hosted cluster's control plane runs in its management cluster: its hosts join it there.
    if (request.spec.model === 'hosted-control-plane') return this.joinHosted(request, host);
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
        : await this.joinSecrets.forJoin(clusterId, { controlPlane: action === 'join-control-plane', windowMs: this.timeouts.commandMs }, this.issuerOn(request));
    const mask = secretValues(secrets);
    // The virtual IP kube-vip holds on one control-plane host at a time; clusters accepted before
    // one was asked for keep the first control-plane host's address their nodes were joined at.
    const vip = request.spec.model === 'user-provisioned' ? request.spec.controlPlane?.vip : undefined;
    const config = renderKubeadmConfig({
      clusterId,
      spec: request.spec,
      node: { name, role: request.role, pool: request.pool, first: action === 'init', address: host.address },
      controlPlaneEndpoint: controlPlaneVipEndpoint(request.spec) ?? `${first.host.address}:${API_SERVER_PORT}`,
      secrets,
    });
    const kubeVip = vip !== undefined && action !== 'join-worker' ? (initHost: boolean) => renderKubeVipManifest({ vip, kubernetesVersion: request.spec.kubernetesVersion, first: initHost }) : undefined;
    const kubelet = await this.withSession(clusterId, host, async (session) => {
      const steps = this.stepsOf(session, clusterId, name, mask);
      // A join retried after a lost connection writes the configuration again: its token may have been renewed since.
      await steps.writeFile('write-kubeadm-config', { path: KUBEADM_CONFIG_PATH, mode: '600', content: config }, { rerun: action !== 'init' });
      // kube-vip runs on every control-plane host from its kubelet's start: on the first it holds
      // the address before init needs it, on the others it takes over when its holder goes.
      if (kubeVip) await steps.writeFile('write-kube-vip-manifest', { path: KUBE_VIP_MANIFEST_PATH, mode: '600', content: kubeVip(action === 'init') });
      if (action === 'init') {
        // The cluster CA is made beforehand so joins can pin its hash; kubeadm uses it when present.
        await steps.writeFile('write-cluster-ca', { path: CA_CERT_PATH, mode: '644', content: secrets.ca.certificatePem });
        await steps.writeFile('write-cluster-ca-key', { path: CA_KEY_PATH, mode: '600', content: secrets.ca.privateKeyPem });
        await steps.change('kubeadm', 'init', 'kubeadm-init');
        // A host that already is a node (init done, answer lost) is not initialised twice.
        await steps.run('kubeadm-init', `test -f /etc/kubernetes/kubelet.conf || kubeadm init --config ${KUBEADM_CONFIG_PATH} --upload-certs`);
        // Init made admin.conf's rights: kube-vip drops the break-glass super-admin.conf.
        if (kubeVip) await steps.writeFile('kube-vip-admin-kubeconfig', { path: KUBE_VIP_MANIFEST_PATH, mode: '600', content: kubeVip(false) });
      } else {
        // kubeadm before 1.23 refuses to join a control plane whose manifests directory holds anything (kube-vip's).
        const ignore = kubeVip && minorOf(request.spec.kubernetesVersion) < 23 ? ' --ignore-preflight-errors=DirAvailable--etc-kubernetes-manifests' : '';
        await steps.change('kubeadm', 'join', 'kubeadm-join');
        await steps.run('kubeadm-join', `test -f /etc/kubernetes/kubelet.conf || kubeadm join --config ${KUBEADM_CONFIG_PATH}${ignore}`);
      }
      const reported = await steps.run('kubelet-version', 'kubelet --version');
      return parseKubeletVersion(reported.output);
    });
    if (!kubelet) return { state: 'failed', message: `${name}: kubelet --version printed no version` };
    this.logger.log(`${name}: ${action} done on ${describeTarget(targetOf(host))}, kubelet ${kubelet}`);
    return { state: 'joined', kubeletVersion: kubelet };
  }

  /**
   * One node's upgrade, in the order of the kubeadm documentation: the package repository
   * switched to the new minor, kubeadm upgraded, then `kubeadm upgrade plan` and `upgrade apply`
   * on the first control-plane host (`upgrade node` elsewhere); the node drained (from a
   * control-plane host that answers), the kubelet and kubectl upgraded and the kubelet
   * restarted, the node uncordoned. Each step is recorded, so a step interrupted resumes there.
   */
  private async upgrade(request: UpgradeRequest): Promise<JoinResult> {
    const { clusterId, name } = request;
    const host = this.hostOf(request);
    const target = kubeletVersionFor(request.toVersion);
    const version = packageVersion(target);
    const prefix = `upgrade-${target}/`;
    const done = await this.records.step(clusterId, name, `${prefix}kubelet-version`);
    if (done?.exitCode === 0 && parseKubeletVersion(done.output) === target) return { state: 'joined', kubeletVersion: target };

    const family = familyOf(name, await this.factsOf(clusterId, name));
    // Drain and uncordon run where the admin kubeconfig is; none answering stops the upgrade here, before the kubelet moves.
    const kubectl = async (verb: 'drain' | 'uncordon'): Promise<void> => {
      const options = verb === 'drain' ? ' --ignore-daemonsets --delete-emptydir-data --timeout=300s' : '';
      const ran = await this.onControlPlane(request, (_cp, session) => this.stepsOf(session, clusterId, name).run(`${prefix}${verb}`, `kubectl --kubeconfig ${ADMIN_KUBECONFIG} ${verb} ${shellQuote(name)}${options}`));
      if (!ran) throw new StepFailed(`${name}: no control-plane host of the cluster is a node to ${verb} it from`);
    };
    await this.withSession(clusterId, host, async (session) => {
      const steps = this.stepsOf(session, clusterId, name);
      await upgradeKubeadm(steps, family, version, prefix);
      if (request.first) await steps.run(`${prefix}kubeadm-upgrade-plan`, `kubeadm upgrade plan ${target}`);
      await steps.run(`${prefix}kubeadm-upgrade`, request.first ? `kubeadm upgrade apply ${target} -y` : 'kubeadm upgrade node');
    });
    await kubectl('drain');
    await this.withSession(clusterId, host, (session) => upgradeKubelet(this.stepsOf(session, clusterId, name), family, version, prefix));
    await kubectl('uncordon');
    const kubelet = await this.withSession(clusterId, host, async (session) => parseKubeletVersion((await this.stepsOf(session, clusterId, name).run(`${prefix}kubelet-version`, 'kubelet --version')).output));
    if (kubelet !== target) return { state: 'failed', message: `${name}: after the upgrade the kubelet reports ${kubelet ?? 'no version'}, expected ${target}` };
    this.logger.log(`${name}: upgraded to ${target}`);
    return { state: 'joined', kubeletVersion: target };
  }

  /**
   * Join material made on a control-plane host that answers, where an admin kubeconfig is: a
   * token (`kubeadm token create`) and the certificates uploaded again under the cluster's key.
   * The values travel in the command (kubeadm takes them no other way) and are masked in the records.
   */
  private issuerOn(node: NodeRef): JoinMaterialIssuer {
    const run = async (clusterId: string, step: string, script: string, secret: string): Promise<void> => {
      await this.onControlPlane(node, (cp, session) => this.stepsOf(session, clusterId, cp.machine, [secret]).run(`${JOIN_MATERIAL_PREFIX}${step}`, script, { rerun: true }));
    };
    return {
      createBootstrapToken: (clusterId, token, ttlMs) =>
        run(clusterId, 'token-create', `kubeadm token create ${shellQuote(token)} --ttl ${kubeadmDuration(ttlMs)} --description ${shellQuote(`Flotilla join token of cluster ${clusterId}`)} --kubeconfig ${ADMIN_KUBECONFIG}`, token),
      uploadCertificates: (clusterId, certificateKey) => run(clusterId, 'upload-certs', `kubeadm init phase upload-certs --upload-certs --certificate-key ${shellQuote(certificateKey)}`, certificateKey),
    };
  }

  private stepsOf(session: SshSession, clusterId: string, machine: string, mask: readonly string[] = []): HostSteps {
    return new HostSteps(this.records, this.logger, session, clusterId, machine, mask);
  }

  /**
   * Runs `work` on the first of the cluster's control-plane hosts that is a node (its init or
   * join done) and serves: one that cannot be reached, or where the work's command fails (its
   * API server down), is passed over. Throws the last error when none serves, and answers
   * undefined when none is a node yet.
   */
  private async onControlPlane<T>(node: NodeRef, work: (host: ControlPlaneHost, session: SshSession) => Promise<T>, audit: 'every-use' | 'failures' = 'every-use', except?: string): Promise<T | undefined> {
    let failure: SshError | StepFailed | undefined;
    for (const candidate of this.controlPlanes(node)) {
      if (candidate.machine === except || !(await this.isNode(node.clusterId, candidate.machine))) continue;
      try {
        return await this.withSession(node.clusterId, candidate.host, (session) => work(candidate, session), audit);
      } catch (error) {
        if (!((error instanceof SshError && error.transient) || error instanceof StepFailed)) throw error;
        this.logger.warn(`${node.name}: control-plane host ${candidate.machine} does not serve (${error.message}); trying another`);
        failure = error;
      }
    }
    if (failure) throw failure;
    return undefined;
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

  /** Where kubeadm init runs: the first control-plane host of the request. */
  private firstControlPlane(node: NodeRef): ControlPlaneHost | undefined {
    const first = this.clusterHosts(node, []).find((peer) => peer.role === 'control-plane');
    return first?.host ? { machine: first.machine, host: first.host } : undefined;
  }

  /** The control-plane hosts the cluster has now (oldest first), then the requested ones not among them. */
  private controlPlanes(node: NodeRef): ControlPlaneHost[] {
    const hosts = new Map<string, ControlPlaneHost>();
    for (const running of node.controlPlanes ?? []) hosts.set(running.machine, running);
    for (const peer of this.clusterHosts(node, [])) if (peer.role === 'control-plane' && peer.host && !hosts.has(peer.machine)) hosts.set(peer.machine, { machine: peer.machine, host: peer.host });
    return [...hosts.values()];
  }

  private async initSucceeded(clusterId: string, firstMachine: string): Promise<boolean> {
    return (await this.records.step(clusterId, firstMachine, 'kubeadm-init'))?.exitCode === 0;
  }

  /** A control-plane host whose init or join is done has the admin kubeconfig. */
  private async isNode(clusterId: string, machine: string): Promise<boolean> {
    return (await this.initSucceeded(clusterId, machine)) || (await this.records.step(clusterId, machine, 'kubeadm-join'))?.exitCode === 0;
  }

  /** kubeadm init or join started on the host (it may have changed it even if it did not finish). */
  private async kubeadmRan(clusterId: string, machine: string): Promise<boolean> {
    return (await this.records.step(clusterId, machine, 'kubeadm-init')) !== null || (await this.records.step(clusterId, machine, 'kubeadm-join')) !== null;
  }

  private async factsOf(clusterId: string, machine: string): Promise<HostFacts | null> {
    return (await this.records.facts(clusterId)).find((entry) => entry.machine === machine)?.facts ?? null;
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
