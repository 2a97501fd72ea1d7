import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ClusterDeleted, ClusterImported, TunnelConnected } from '@flotilla/contracts';
import { eventsOf, eventually, freePort } from '@flotilla/messaging/testing';
import { parseAllDocuments } from 'yaml';
import { Fleet } from './fleet-harness.js';
import { certificateFor, TlsFront } from './support/tls-front.js';
import { WorkloadCluster } from './support/workload-cluster.js';

const exec = promisify(execFile);

interface ManifestObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  stringData?: Record<string, string>;
  data?: Record<string, string>;
  spec?: {
    template: {
      spec: {
        containers: { env: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } } }[]; volumeMounts?: { name: string; mountPath: string }[] }[];
        volumes?: { name: string; configMap?: { name: string } }[];
      };
    };
  };
}

/**
 * The agent's environment as the kubelet would give it from the manifest's Deployment, Secrets and
 * ConfigMaps: ConfigMap volumes are written under `mountRoot`, and variables naming their files follow.
 */
function agentEnvironment(objects: ManifestObject[], mountRoot: string): Record<string, string> {
  const secrets = new Map(objects.filter((object) => object.kind === 'Secret').map((object) => [object.metadata.name, object.stringData ?? {}]));
  const configMaps = new Map(objects.filter((object) => object.kind === 'ConfigMap').map((object) => [object.metadata.name, object.data ?? {}]));
  const deployment = objects.find((object) => object.kind === 'Deployment');
  const pod = deployment?.spec?.template.spec;
  const mounted = new Map<string, string>();
  for (const mount of pod?.containers[0]?.volumeMounts ?? []) {
    const source = pod?.volumes?.find((volume) => volume.name === mount.name)?.configMap?.name;
    if (!source) continue;
    const dir = join(mountRoot, mount.name);
    mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(configMaps.get(source) ?? {})) writeFileSync(join(dir, file), content);
    mounted.set(mount.mountPath, dir);
  }
  const env: Record<string, string> = {};
  for (const variable of pod?.containers[0]?.env ?? []) {
    const mount = [...mounted.keys()].find((path) => variable.value?.startsWith(`${path}/`));
    if (variable.value !== undefined) env[variable.name] = mount ? `${mounted.get(mount)}${variable.value.slice(mount.length)}` : variable.value;
    else if (variable.valueFrom?.secretKeyRef) env[variable.name] = secrets.get(variable.valueFrom.secretKeyRef.name)?.[variable.valueFrom.secretKeyRef.key] ?? '';
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[variable.name] = 'flotilla-tunnel-agent-7d9f8-x2k4q';
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = 'flotilla-system';
  }
  return env;
}

describe('register mode across the processes: a cluster behind a firewall, from registration to kubectl and removal', { timeout: 300_000 }, () => {
  const workload = new WorkloadCluster();
  let fleet: Fleet;
  let front: TlsFront;
  let frontUrl: string;
  let dir: string;
  let caFile: string;
  let clusterId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'register-e2e-'));
    const tls = certificateFor(['127.0.0.1', workload.hostAddress]);
    caFile = join(dir, 'flotilla-ca.crt');
    writeFileSync(caFile, tls.cert);
    await workload.start(certificateFor(['127.0.0.1']));

    fleet = new Fleet({ services: ['inventory'] });
    await fleet.start();
    const agentPort = await freePort();
    const broker = await fleet.add('tunnel-broker', 'a', { TUNNEL_AGENT_PORT: String(agentPort), TUNNEL_AGENT_ADDRESS: `${workload.hostAddress}:${agentPort}` });
    // Flotilla's one address, TLS terminated in front of the broker as an ingress would.
    front = new TlsFront(tls, broker.url);
    frontUrl = `https://${workload.hostAddress}:${await front.listen(workload.hostAddress === '127.0.0.1' ? '127.0.0.1' : '0.0.0.0')}`;
    await fleet.add('importer', 'a', {
      TUNNEL_BROKER_URL: frontUrl.replace(workload.hostAddress, '127.0.0.1'),
      TUNNEL_BROKER_CA_FILE: caFile,
      REGISTRATION_TUNNEL_URL: frontUrl,
      REGISTRATION_TUNNEL_CA_FILE: caFile,
      // Where operators reach Flotilla: the kubeconfigs of connected clusters point there.
      FLOTILLA_PUBLIC_URL: frontUrl.replace(workload.hostAddress, '127.0.0.1'),
      FLOTILLA_PUBLIC_CA_FILE: caFile,
    });
  });

  after(async () => {
    await workload.stop();
    await front?.close();
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const kubectl = async (token: string, ...args: string[]) =>
    exec('kubectl', ['--server', `${frontUrl.replace(workload.hostAddress, '127.0.0.1')}/api/v1/tunnels/${clusterId}/k8s`, '--token', token, '--certificate-authority', caFile, '--request-timeout', '20s', ...args], {
      env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig') },
      timeout: 30_000,
    });
  const token = async (role: 'viewer' | 'operator') => (await fleet.auth(role)).authorization!.replace('Bearer ', '');

  it('registers, the agent enrolls from inside the firewall, and the importer imports the cluster through the tunnel', async () => {
    if (workload.isolated) {
      await assert.rejects(fetch(workload.apiServerUrl), 'the global side cannot reach the API server');
    }
    const answer = await fetch(`${fleet.service('importer').url}/api/v1/registrations`, {
      method: 'POST',
      headers: { ...(await fleet.auth('operator')), 'content-type': 'application/json' },
      body: JSON.stringify({ clusterName: 'edge-behind-firewall', labels: { site: 'plant-7' } }),
    });
    assert.equal(answer.status, 201, await answer.clone().text());
    const registration = (await answer.json()) as { clusterId: string; manifest: string };
    clusterId = registration.clusterId;

    // `kubectl apply -f` of the manifest: its Secrets go to the API server, the Deployment runs the agent.
    const objects = parseAllDocuments(registration.manifest).map((document) => document.toJS() as ManifestObject);
    for (const secret of objects.filter((object) => object.kind === 'Secret')) workload.putSecret(secret.metadata.namespace ?? 'default', secret.metadata.name, secret.stringData ?? {});
    // The manifest carries the private CA of Flotilla's address: nothing is added by hand.
    workload.startAgent(agentEnvironment(objects, join(dir, 'kubelet')));

    const [imported] = await eventually(async () => {
      const events = await eventsOf(fleet.bus, fleet.prefix, ClusterImported, clusterId);
      return events.length > 0 ? events : undefined;
    }, 90_000, `ClusterImported for ${clusterId} (agent log: ${JSON.stringify(workload.agentLog.slice(-5))})`);
    assert.match(imported?.data.kubernetesVersion ?? '', /^v?1\.32\.4$/);
    assert.equal(imported?.data.nodeCount, 2);
    assert.equal((await eventsOf(fleet.bus, fleet.prefix, TunnelConnected, clusterId)).length, 1);
    // The importer asked as itself, through the agent's impersonation.
    assert.ok(workload.requests.some((request) => request.path === '/version' && request.user === 'service:importer'), JSON.stringify(workload.requests.slice(0, 5)));

    const view = await eventually(async () => {
      const body = (await (await fetch(`${fleet.service('inventory').url}/api/v1/clusters/${clusterId}`, { headers: await fleet.auth('viewer') })).json()) as { status: string; model: string; tunnel: string | null };
      return body.status === 'Running' && body.tunnel === 'connected' ? body : undefined;
    }, 30_000, 'the inventory to show the cluster running, connected through its tunnel');
    assert.equal(view.model, 'connected');
  });

  it('kubectl reaches the cluster through the broker: get --raw, version, get --watch, exec (operators only), logs -f', async () => {
    const viewer = await token('viewer');
    // `get --raw` replaces the server's path with its own: the raw path names the tunnel itself.
    const { stdout: version } = await kubectl(viewer, 'get', '--raw', `/api/v1/tunnels/${clusterId}/k8s/version`);
    assert.equal((JSON.parse(version) as { gitVersion: string }).gitVersion, 'v1.32.4');
    const { stdout: both } = await kubectl(viewer, 'version', '-o', 'json');
    assert.equal((JSON.parse(both) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion, 'v1.32.4');

    const watch = spawn('kubectl', ['--server', `${frontUrl.replace(workload.hostAddress, '127.0.0.1')}/api/v1/tunnels/${clusterId}/k8s`, '--token', viewer, '--certificate-authority', caFile, 'get', 'pods', '-n', 'default', '--watch', '-o', 'name'], {
      env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig') },
    });
    let watched = '';
    watch.stdout.on('data', (chunk: Buffer) => (watched += chunk.toString()));
    watch.stderr.on('data', (chunk: Buffer) => (watched += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    workload.addPod('default', 'web-0');
    await eventually(() => (watched.includes('pod/web-0') ? true : undefined), 20_000, `the watch to show pod/web-0 (kubectl said: ${watched})`);
    watch.kill();

    const operator = await token('operator');
    const { stdout: echoed } = await kubectl(operator, 'exec', '-n', 'default', 'web-0', '--', 'echo', 'through', 'the', 'tunnel');
    assert.equal(echoed.trim(), 'through the tunnel');
    await assert.rejects(kubectl(viewer, 'exec', '-n', 'default', 'web-0', '--', 'echo', 'no'), /operator role/);

    const logs = spawn('kubectl', ['--server', `${frontUrl.replace(workload.hostAddress, '127.0.0.1')}/api/v1/tunnels/${clusterId}/k8s`, '--token', viewer, '--certificate-authority', caFile, 'logs', '-f', '-n', 'default', 'web-0'], {
      env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig') },
    });
    let logged = '';
    logs.stdout.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    await eventually(() => (logged.includes('line two') ? true : undefined), 20_000, 'logs -f to stream the log');
    logs.kill();
  });

  it('an operator\'s kubeconfig of the registered cluster, asked of the inventory and answered by the importer, takes kubectl through the broker', async () => {
    const operator = await fleet.auth('operator');
    const redirect = await fetch(`${fleet.service('inventory').url}/api/v1/clusters/${clusterId}/kubeconfig`, { headers: operator, redirect: 'manual' });
    assert.equal(redirect.status, 307, await redirect.clone().text());
    const location = redirect.headers.get('location') ?? '';
    assert.equal(location, `/api/v1/connected-clusters/${clusterId}/kubeconfig`);
    // The entry point would route the same origin's path to the importer.
    const answer = await fetch(`${fleet.service('importer').url}${location}`, { headers: operator });
    assert.equal(answer.status, 200, await answer.clone().text());
    const text = await answer.text();
    const document = parseAllDocuments(text)[0]?.toJS() as { clusters: { cluster: { server: string } }[]; users: { user: { token: string } }[] };
    assert.equal(document.clusters[0]?.cluster.server, `${frontUrl.replace(workload.hostAddress, '127.0.0.1')}/api/v1/tunnels/${clusterId}/k8s`);
    assert.equal(`Bearer ${document.users[0]?.user.token}`, operator.authorization);
    const kubeconfig = join(dir, 'operator-kubeconfig.yaml');
    writeFileSync(kubeconfig, text, { mode: 0o600 });
    const run = (...args: string[]) => exec('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout', '20s', ...args], { env: { ...process.env, KUBECONFIG: '' }, timeout: 30_000 });

    // kubectl before 1.34 sends a --raw path from the server's root: the raw path names the tunnel itself.
    const { stdout: version } = await run('get', '--raw', `/api/v1/tunnels/${clusterId}/k8s/version`);
    assert.equal((JSON.parse(version) as { gitVersion: string }).gitVersion, 'v1.32.4');
    const { stdout: pods } = await run('get', 'pods', '-n', 'default', '-o', 'name');
    assert.match(pods, /pod\/web-0/);
    // The agent forwarded as the operator: the cluster's RBAC sees who asked.
    assert.ok(workload.requests.some((request) => request.path.startsWith('/api/v1/namespaces/default/pods') && request.user === 'e2e-operator' && request.groups.includes('flotilla:operator')), JSON.stringify(workload.requests.slice(-3)));

    const viewer = await fleet.auth('viewer');
    const refused = await fetch(`${fleet.service('inventory').url}/api/v1/clusters/${clusterId}/kubeconfig`, { headers: viewer, redirect: 'manual' });
    assert.equal(refused.status, 403);
  });

  it('removing the cluster revokes the agent: it is told to stop, forgets its credential, and the cluster is deleted', async () => {
    const answer = await fetch(`${fleet.service('inventory').url}/api/v1/clusters/${clusterId}`, { method: 'DELETE', headers: await fleet.auth('operator') });
    assert.equal(answer.status, 202, await answer.clone().text());
    await eventually(async () => ((await eventsOf(fleet.bus, fleet.prefix, ClusterDeleted, clusterId)).length > 0 ? true : undefined), 30_000, 'ClusterDeleted');
    await eventually(() => workload.agentLog.find((line) => String(line['msg']).startsWith('stopped: this cluster was removed')), 30_000, `the agent to stop (log: ${JSON.stringify(workload.agentLog.slice(-5))})`);
    // Its credential is gone from its Secret: it cannot come back without a new registration.
    const credential = await workload.secret('flotilla-system', 'flotilla-tunnel-agent-credential');
    assert.ok(!Object.keys(credential?.data ?? {}).some((key) => /key|crt|certificate/i.test(key)), JSON.stringify(Object.keys(credential?.data ?? {})));
    const view = await eventually(async () => {
      const body = (await (await fetch(`${fleet.service('inventory').url}/api/v1/clusters/${clusterId}`, { headers: await fleet.auth('viewer') })).json()) as { status: string };
      return body.status === 'Deleted' ? body : undefined;
    }, 30_000, 'the inventory to show the cluster deleted');
    assert.equal(view.status, 'Deleted');
    const viewer = await token('viewer');
    await assert.rejects(kubectl(viewer, 'get', '--raw', `/api/v1/tunnels/${clusterId}/k8s/version`));
  });
});
