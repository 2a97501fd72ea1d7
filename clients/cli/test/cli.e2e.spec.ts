// The built CLI as a process against the services as processes, behind npm start's entry point
// (HTTPS with a CA of the test's own, so --ca-file is exercised too).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Fleet } from '@flotilla/e2e/dist/src/fleet-harness.js';
import { StandInApiServer } from '@flotilla/tunnel/testing';
import { parse, parseAllDocuments, stringify } from 'yaml';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = join(root, 'clients/cli/dist/src/main.js');

interface Gateway {
  listen(port: number, host?: string): Promise<{ port: number }>;
  close(): Promise<void>;
}
interface GatewayModule {
  createGateway(this: void, options: { targets: Record<string, string>; tls?: { cert: Buffer; key: Buffer } }): Gateway;
}
interface TlsModule {
  ensureDevCa(dir: string): Promise<{ caCert: string; cert: string; key: string }>;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI with `args`, its configuration file in the test's directory. */
function cli(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const SPEC = `
name: cli-e2e
model: platform-provisioned
kubernetesVersion: "1.34"
labels:
  team: cli
controlPlane:
  count: 1
  machineSize: small
nodePools:
  - name: workers
    count: 1
    machineSize: small
`;

describe('the flotilla CLI against the services', { timeout: 240_000 }, () => {
  let fleet: Fleet;
  let gateway: Gateway;
  let server: string;
  let directory: string;
  let caFile: string;
  let tls: { caCert: string; cert: string; key: string };
  let env: Record<string, string>;
  const id = `cli-${Date.now().toString(36)}`;

  before(async () => {
    fleet = new Fleet({ services: ['inventory', 'provisioner', 'upgrade-planner', 'importer'], env: { SIM_BOOT_MS: '300', IMPORT_POLL_INTERVAL_MS: '200' } });
    await fleet.start();
    directory = mkdtempSync(join(tmpdir(), 'flotilla-cli-'));
    tls = await ((await import(new URL('tools/start-lib/tls.mjs', `file://${root}`).href)) as TlsModule).ensureDevCa(join(directory, 'tls'));
    caFile = tls.caCert;
    const { createGateway } = (await import(new URL('tools/start-lib/gateway.mjs', `file://${root}`).href)) as GatewayModule;
    gateway = createGateway({
      targets: Object.fromEntries(fleet.processes.map((service) => [service.name, service.url])),
      tls: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
    });
    const { port } = await gateway.listen(0, '127.0.0.1');
    server = `https://127.0.0.1:${port}`;
    env = { FLOTILLA_CONFIG: join(directory, 'config.yaml'), HOME: directory };
  });

  after(async () => {
    await gateway?.close();
    await fleet?.stop();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('without a login, a call says to log in and exits 4', async () => {
    const run = await cli(['get', 'clusters', '--server', server, '--ca-file', caFile], { env });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /not logged in.*run flotilla login --server https:\/\/127\.0\.0\.1/);
  });

  it('login refuses an untrusted certificate and a bad token, then saves a good token 0600 as the current context', async () => {
    const token = (await fleet.auth('operator')).authorization!.replace('Bearer ', '');
    const untrusted = await cli(['login', '--server', server, '--token', token], { env });
    assert.equal(untrusted.code, 5, untrusted.stderr);
    assert.match(untrusted.stderr, /not trusted.*--ca-file/);

    const refused = await cli(['login', '--server', server, '--ca-file', caFile, '--token', 'not-a-token'], { env });
    assert.equal(refused.code, 4, refused.stderr);
    assert.throws(() => statSync(env.FLOTILLA_CONFIG!), 'nothing saved for a refused token');

    // The token from stdin, as `cat token | flotilla login` gives it.
    const login = await cli(['login', '--server', server, '--ca-file', caFile, '--context', 'e2e'], { env, input: `${token}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(statSync(env.FLOTILLA_CONFIG!).mode & 0o777, 0o600);
    const saved = parse(readFileSync(env.FLOTILLA_CONFIG!, 'utf8')) as { currentContext: string; contexts: { name: string; server: string; token: string; caFile: string }[] };
    assert.equal(saved.currentContext, 'e2e');
    assert.deepEqual(saved.contexts, [{ name: 'e2e', server, token, caFile }]);

    const contexts = await cli(['config', 'get-contexts'], { env });
    assert.match(contexts.stdout, /^\*\s+e2e\s+https:\/\/127\.0\.0\.1/m);
  });

  it('a bad spec file is refused with the field named, exit 1; an unreadable one is a usage error, exit 2', async () => {
    const bad = join(directory, 'bad.yaml');
    writeFileSync(bad, SPEC.replace('count: 1\n  machineSize', 'count: 2\n  machineSize'));
    const refused = await cli(['create', 'cluster', `${id}-bad`, '-f', bad, '--no-wait'], { env });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /controlPlane\.count: must be 1, 3 or 5/);

    const missing = await cli(['create', 'cluster', '-f', join(directory, 'missing.yaml')], { env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing\.yaml: ENOENT/);
  });

  it('creates a cluster from a YAML file and waits until it runs, then lists and describes it', async () => {
    const file = join(directory, 'cluster.yaml');
    writeFileSync(file, SPEC);
    const created = await cli(['create', 'cluster', id, '-f', file, '--wait', '--timeout', '90s'], { env });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`cluster ${id} is Running \\(v?1\\.34`));
    assert.match(created.stderr, /control plane \d\/1/, 'progress shows machines ready of total');

    const listed = await cli(['get', 'clusters', '-l', 'team=cli'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+MODEL\s+STATUS\s+VERSION\s+NODES\s+ACCESS\s+AGE$/m);
    assert.match(listed.stdout, new RegExp(`^${id}\\s+platform-provisioned\\s+Running\\s+v?1\\.34\\S*\\s+2\\s+direct\\s+\\S+$`, 'm'));
    const none = await cli(['get', 'clusters', '-l', 'team=nobody', '-o', 'json'], { env });
    assert.deepEqual((JSON.parse(none.stdout) as { items: unknown[] }).items, []);

    const described = await cli(['describe', 'cluster', id], { env });
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /^NAME\s+READY\s+SEVERITY\s+REASON\s+SINCE\s+MESSAGE$/m);
    assert.match(described.stdout, new RegExp(`^Cluster/${id}\\s+True`, 'm'));
    assert.match(described.stdout, /Responsibilities[\s\S]*Node OS: Platform \(immutable OS only/);
    assert.match(described.stdout, /ControlPlane\s+True\s+1\/1 ready[\s\S]*Running \(1\)[\s\S]*Machine\//);
    assert.match(described.stdout, /NodePool\/workers\s+True\s+1\/1 ready/);
    assert.match(described.stdout, /Release \d+\.\d+ \(in force\)\s+True/);
    assert.match(described.stdout, /History \(newest/);
    assert.match(described.stdout, /cluster\.requested/);
  });

  it('scales a pool and waits for the machines while get --watch prints the row again as it changes; the trace shows the chain across services with links', async () => {
    const watch = spawn(process.execPath, [MAIN, 'get', 'clusters', '-l', 'team=cli', '--watch'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let watched = '';
    watch.stdout.on('data', (chunk: Buffer) => (watched += chunk.toString()));
    const grown = new RegExp(`^${id}\\s+platform-provisioned\\s+Running\\s+\\S+\\s+3\\s`, 'm');
    const scaled = await cli(['scale', 'cluster', id, '--pool', 'workers', '--replicas', '2', '--wait', '--timeout', '90s'], { env });
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.match(scaled.stdout, /pool workers of .* has 2 ready machines/);
    const cluster = JSON.parse((await cli(['get', 'clusters', id, '-o', 'json'], { env })).stdout) as { id: string; nodes: unknown[] };
    assert.deepEqual([cluster.id, cluster.nodes.length], [id, 3]);
    try {
      for (let waited = 0; !grown.test(watched) && waited < 10_000; waited += 250) await new Promise((resolve) => setTimeout(resolve, 250));
      assert.match(watched, grown, watched);
      assert.equal(watched.match(/^NAME\s/gm)?.length, 1, 'the header once, then changed rows only');
    } finally {
      watch.kill();
    }

    const traced = await cli(['trace', id], { env: { ...env, FLOTILLA_TRACE_URL: 'http://jaeger.test:16686/' } });
    assert.equal(traced.code, 0, traced.stderr);
    assert.match(traced.stdout, /^Trace [0-9a-f]{32}: \d+ events? in \S+ \(.*provisioner.*\)$/m);
    assert.match(traced.stdout, /^ {2}http:\/\/jaeger\.test:16686\/trace\/[0-9a-f]{32}$/m);
    assert.match(traced.stdout, /cluster\.node-pool-scale-requested/);
    assert.match(traced.stdout, /\+\d+(ms|s)/, 'the time between events');
  });

  it('plans an upgrade of the global cluster with the cluster in it; a step no open plan holds is refused', async () => {
    const planned = await cli(['upgrade', 'plan', '--from', '4.2', '--to', '4.3'], { env });
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /^Plan \S+ \(revision 1, open\): 4\.2 → 4\.3/m);
    assert.match(planned.stdout, new RegExp(`^${id}\\s+platform-provisioned\\s+v?1\\.34\\S*\\s+1\\.34\\s`, 'm'));
    assert.match(planned.stdout, /^ {2}\d+\. global cluster 4\.2 → 4\.3$/m);
    const unplanned = await cli(['upgrade', 'cluster', id, '--to', '1.35', '--no-wait'], { env });
    assert.equal(unplanned.code, 1);
    assert.match(unplanned.stderr, new RegExp(`no open upgrade plan takes ${id} to 1\\.35: make one with flotilla upgrade plan`));
  });

  it("prints a cluster's kubeconfig through the inventory's redirect", async () => {
    const run = await cli(['kubeconfig', id], { env });
    assert.equal(run.code, 0, run.stderr);
    const kubeconfig = parse(run.stdout) as { kind: string; clusters: { cluster: { server: string } }[] };
    assert.equal(kubeconfig.kind, 'Config');
    assert.match(kubeconfig.clusters[0]?.cluster.server ?? '', /^https:\/\//);
  });

  it('delete asks for confirmation (none without a terminal), then with --yes ends Deleted', async () => {
    const unconfirmed = await cli(['delete', 'cluster', id], { env });
    assert.equal(unconfirmed.code, 2);
    assert.match(unconfirmed.stderr, /pass --yes/);

    const deleted = await cli(['delete', 'cluster', id, '--yes', '--wait', '--timeout', '90s'], { env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, new RegExp(`cluster ${id} is deleted`));
    const listed = await cli(['get', 'clusters', id], { env });
    assert.match(listed.stdout, new RegExp(`^${id}\\s+platform-provisioned\\s+Deleted`, 'm'));
  });

  it('imports a reachable cluster from a kubeconfig context and waits until it runs', async () => {
    const apiServer = new StandInApiServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), tokens: ['lab-admin-token'], gitVersion: 'v1.33.2', nodes: ['lab-1', 'lab-2'] });
    await apiServer.listen();
    try {
      const file = join(directory, 'lab.kubeconfig');
      writeFileSync(
        file,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          'current-context': 'elsewhere',
          clusters: [{ name: 'lab', cluster: { server: apiServer.url, 'certificate-authority-data': readFileSync(caFile).toString('base64') } }],
          users: [{ name: 'lab-admin', user: { token: 'lab-admin-token' } }],
          contexts: [
            { name: 'elsewhere', context: { cluster: 'nowhere', user: 'nobody' } },
            { name: 'lab-admin', context: { cluster: 'lab', user: 'lab-admin' } },
          ],
        }),
      );
      const missing = await cli(['import', 'cluster', 'lab-1', '--kubeconfig', file, '--context', 'nope'], { env });
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /no context "nope" \(has: elsewhere, lab-admin\)/);

      // Storing a credential takes an admin: the flag overrides the context's (operator) token.
      const admin = (await fleet.auth('admin')).authorization!.replace('Bearer ', '');
      const imported = await cli(['import', 'cluster', 'lab-1', '--kubeconfig', file, '--context', 'lab-admin', '-l', 'team=lab', '--token', admin, '--wait', '--timeout', '60s'], { env });
      assert.equal(imported.code, 0, imported.stderr);
      assert.match(imported.stderr, /credential lab-1-kubeconfig stored \(context lab-admin, https:\/\/127\.0\.0\.1:\d+\)/);
      assert.match(imported.stdout, /cluster lab-1 is Running \(v1\.33\.2/);
      const listed = await cli(['get', 'clusters', '--model', 'connected', '--provider', 'cncf'], { env });
      assert.match(listed.stdout, /^lab-1\s+connected\s+Running\s+v1\.33\.2\s+<none>\s+direct\s+/m);
      const described = await cli(['describe', 'cluster', 'lab-1'], { env });
      assert.equal(described.code, 0, described.stderr);
      assert.match(described.stdout, /Nodes: 2 reported by the cluster/);
      assert.match(described.stdout, /API server: https:\/\/127\.0\.0\.1:\d+/);
      assert.match(described.stdout, /Automation: Minimal/);
    } finally {
      await apiServer.close();
    }
  });

  it('register prints the agent manifest on stdout, ready for kubectl apply -f -', async () => {
    const run = await cli(['register', 'cluster', 'edge-berlin', '--tunnel-url', 'https://flotilla.example:8443', '-l', 'site=berlin'], { env });
    assert.equal(run.code, 0, run.stderr);
    const kinds = parseAllDocuments(run.stdout).map((document) => (document.toJS() as { kind?: string } | null)?.kind);
    assert.ok(kinds.includes('Deployment') && kinds.includes('Secret'), kinds.join(', '));
    assert.match(run.stderr, /cluster edge-berlin-[0-9a-f]{6}: registration \S+, valid until /);
  });

  it('dead letters: an operator is told they are for admins (exit 4); an admin lists one and replays it once', async () => {
    const denied = await cli(['dlq', 'list'], { env });
    assert.equal(denied.code, 4, denied.stderr);
    assert.match(denied.stderr, /not allowed: .*role or label scope/);

    // A message without a CloudEvents envelope can never be handled: the provisioner dead-letters it.
    await fleet.bus.js.publish(`${fleet.prefix}.events.cluster.requested.v1`, JSON.stringify({ name: 'no-envelope' }));
    const admin = (await fleet.auth('admin')).authorization!.replace('Bearer ', '');
    const asAdmin = (args: string[]) => cli([...args, '--token', admin], { env });
    let letters: { id: string; consumer: string; replayedAt: string | null }[] = [];
    for (let waited = 0; letters.length === 0 && waited < 30_000; waited += 500) {
      const listed = await asAdmin(['dlq', 'list', '--service', 'provisioner', '-o', 'json']);
      assert.equal(listed.code, 0, listed.stderr);
      letters = (JSON.parse(listed.stdout) as { items: typeof letters }).items;
      if (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const [letter] = letters;
    assert.ok(letter, 'the dead letter is listed');
    const table = await asAdmin(['dlq', 'list', '--service', 'provisioner', '--not-replayed']);
    assert.match(table.stdout, /^ID\s+SERVICE\s+EVENT\s+SUBJECT\s+CODE\s+AGE\s+REPLAYED\s+REASON$/m);
    assert.match(table.stdout, new RegExp(`^${letter.id}\\s+provisioner\\s`, 'm'));

    const replayed = await asAdmin(['dlq', 'replay', letter.id]);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal(replayed.stdout, `dead letter ${letter.id} sent back to ${letter.consumer}\n`);
    const again = await asAdmin(['dlq', 'replay', letter.id]);
    assert.match(again.stdout, new RegExp(`dead letter ${letter.id} was replayed before \\(.* by e2e-admin\\): nothing sent`));
  });

  it('under release 4.0: a cluster on 1.30 is planned to 1.31 before the global upgrade to 4.1, and upgrade cluster approves that step and waits for it', async () => {
    const admin = await fleet.auth('admin');
    const put = await fetch(`${fleet.service('upgrade-planner').url}/api/v1/support-matrix/platform-release`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ release: '4.0' }) });
    assert.equal(put.status, 200, await put.text());
    for (const service of ['inventory', 'provisioner'] as const) {
      for (let waited = 0; ; waited += 200) {
        const ready = (await (await fetch(`${fleet.service(service).url}/readyz`)).json()) as { policy?: { release: string } };
        if (ready.policy?.release === '4.0') break;
        assert.ok(waited < 10_000, `${service} judges by release 4.0`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    const old = `${id}-old`;
    const file = join(directory, 'old.yaml');
    writeFileSync(file, SPEC.replace('"1.34"', '"1.30"'));
    const created = await cli(['create', 'cluster', old, '-f', file, '--wait', '--timeout', '90s'], { env });
    assert.equal(created.code, 0, created.stderr);

    const planned = await cli(['upgrade', 'plan', '--to', '4.1'], { env });
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /^Plan \S+ \(revision 1, open\): 4\.0 → 4\.1/m);
    assert.match(planned.stdout, new RegExp(`^${old}\\s+platform-provisioned\\s+v?1\\.30\\S*\\s+1\\.32\\s+1\\.30→1\\.31→1\\.32\\s+upgrade-before-global\\s+1\\s`, 'm'));

    const described = await cli(['describe', 'cluster', old], { env });
    assert.match(described.stdout, /Release 4\.0 \(in force\)\s+True/);
    assert.match(described.stdout, /Release 4\.1 \(next\)\s+False\s+Warning\s+VersionPolicy\s+must reach 1\.31/);

    const upgraded = await cli(['upgrade', 'cluster', old, '--to', '1.31', '--wait', '--timeout', '120s'], { env });
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.match(upgraded.stdout, new RegExp(`upgrade of ${old} to 1\\.31 approved \\(plan \\S+\\)\\ncluster ${old} runs v1\\.31`));
  });

  it('a cluster that does not exist is named, exit 6', async () => {
    const run = await cli(['describe', 'cluster', 'no-such-cluster'], { env });
    assert.equal(run.code, 6);
    assert.match(run.stderr, /cluster "no-such-cluster" not found/);
  });
});
