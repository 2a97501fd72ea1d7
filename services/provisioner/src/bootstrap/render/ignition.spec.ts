import 'reflect-metadata';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { before, describe, it } from 'node:test';
import { ClusterSpec } from '@flotilla/contracts';
import { parseAllDocuments } from 'yaml';
import { generateJoinSecrets, type JoinSecrets } from '../join-secrets.js';
import { dataUrl, type IgnitionConfig, renderIgnition } from './ignition.js';
import { type NodeBootstrapInput, planNodeBootstrap } from './plan.js';

const spec = ClusterSpec.parse({
  name: 'Payments',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34.2',
  controlPlane: { count: 3, machineSize: 'm' },
  nodePools: [{ name: 'general', count: 2, machineSize: 'm', labels: { tier: 'web' }, taints: [{ key: 'dedicated', value: 'web', effect: 'NoSchedule' }] }],
  nodeOs: 'flatcar',
});

/**
 * A structural check of Ignition spec v3.4.0 for the parts this renderer writes: the keys each
 * object may have, their types, and the spec's rules (absolute clean paths, integer modes, data
 * URLs, unique paths and unit names). Returns every problem found.
 */
function ignitionProblems(config: unknown): string[] {
  const problems: string[] = [];
  const object = (value: unknown, where: string, allowed: string[], required: string[] = []): Record<string, unknown> | undefined => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${where}: must be an object`);
      return undefined;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (!allowed.includes(key)) problems.push(`${where}.${key}: not in the spec`);
    for (const key of required) if (!(key in record)) problems.push(`${where}.${key}: required`);
    return record;
  };
  const string = (value: unknown, where: string): void => {
    if (typeof value !== 'string') problems.push(`${where}: must be a string`);
  };
  const array = (value: unknown, where: string): unknown[] => {
    if (!Array.isArray(value)) {
      problems.push(`${where}: must be an array`);
      return [];
    }
    return value;
  };

  const root = object(config, '$', ['ignition', 'kernelArguments', 'passwd', 'storage', 'systemd'], ['ignition']);
  if (!root) return problems;
  const ignition = object(root['ignition'], '$.ignition', ['config', 'proxy', 'security', 'timeouts', 'version'], ['version']);
  if (ignition && ignition['version'] !== '3.4.0') problems.push('$.ignition.version: must be 3.4.0');

  if (root['passwd'] !== undefined) {
    const passwd = object(root['passwd'], '$.passwd', ['users', 'groups']);
    array(passwd?.['users'] ?? [], '$.passwd.users').forEach((entry, index) => {
      const where = `$.passwd.users[${index}]`;
      const user = object(entry, where, ['name', 'sshAuthorizedKeys', 'groups', 'homeDir', 'shell', 'uid', 'gecos', 'noCreateHome', 'noUserGroup', 'noLogInit', 'passwordHash', 'primaryGroup', 'shouldExist', 'system'], ['name']);
      string(user?.['name'], `${where}.name`);
      array(user?.['sshAuthorizedKeys'] ?? [], `${where}.sshAuthorizedKeys`).forEach((key, keyIndex) => string(key, `${where}.sshAuthorizedKeys[${keyIndex}]`));
    });
  }

  const storage = object(root['storage'] ?? {}, '$.storage', ['directories', 'disks', 'files', 'filesystems', 'links', 'luks', 'raid']);
  const paths = new Set<string>();
  array(storage?.['files'] ?? [], '$.storage.files').forEach((entry, index) => {
    const where = `$.storage.files[${index}]`;
    const file = object(entry, where, ['path', 'overwrite', 'mode', 'user', 'group', 'contents', 'append'], ['path']);
    if (!file) return;
    const path = file['path'];
    if (typeof path !== 'string' || !path.startsWith('/') || posix.normalize(path) !== path || path.endsWith('/')) problems.push(`${where}.path: must be an absolute, clean path`);
    else if (paths.has(path)) problems.push(`${where}.path: duplicate`);
    else paths.add(path);
    const mode = file['mode'];
    if (mode !== undefined && (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o7777)) problems.push(`${where}.mode: must be an integer 0..4095`);
    if (file['overwrite'] !== undefined && typeof file['overwrite'] !== 'boolean') problems.push(`${where}.overwrite: must be a boolean`);
    for (const owner of ['user', 'group'] as const) {
      if (file[owner] === undefined) continue;
      const node = object(file[owner], `${where}.${owner}`, ['id', 'name']);
      if (node?.['name'] !== undefined) string(node['name'], `${where}.${owner}.name`);
      if (node?.['id'] !== undefined && !Number.isInteger(node['id'])) problems.push(`${where}.${owner}.id: must be an integer`);
    }
    const contents = object(file['contents'] ?? {}, `${where}.contents`, ['compression', 'httpHeaders', 'source', 'verification']);
    if (contents?.['source'] !== undefined && decodeDataUrl(contents['source']) === undefined) problems.push(`${where}.contents.source: not a data URL`);
  });

  const systemd = object(root['systemd'] ?? {}, '$.systemd', ['units']);
  const units = new Set<string>();
  array(systemd?.['units'] ?? [], '$.systemd.units').forEach((entry, index) => {
    const where = `$.systemd.units[${index}]`;
    const unit = object(entry, where, ['name', 'enabled', 'mask', 'contents', 'dropins'], ['name']);
    if (!unit) return;
    const name = unit['name'];
    if (typeof name !== 'string' || !/^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|target|mount|path)$/.test(name)) problems.push(`${where}.name: not a unit name`);
    else if (units.has(name)) problems.push(`${where}.name: duplicate`);
    else units.add(name);
    if (unit['enabled'] !== undefined && typeof unit['enabled'] !== 'boolean') problems.push(`${where}.enabled: must be a boolean`);
    if (unit['contents'] !== undefined) string(unit['contents'], `${where}.contents`);
  });
  return problems;
}

/** RFC 2397: `data:[<mediatype>][;base64],<data>`. */
function decodeDataUrl(source: unknown): string | undefined {
  if (typeof source !== 'string') return undefined;
  const match = /^data:([^,]*?)(;base64)?,(.*)$/s.exec(source);
  if (!match) return undefined;
  const data = match[3]!;
  if (match[2]) return /^[A-Za-z0-9+/]*={0,2}$/.test(data) ? Buffer.from(data, 'base64').toString('utf8') : undefined;
  try {
    return decodeURIComponent(data);
  } catch {
    return undefined;
  }
}

interface ParsedFile {
  path: string;
  mode: number;
  contents: string;
}

function files(config: IgnitionConfig): Map<string, ParsedFile> {
  return new Map(config.storage.files.map((file) => [file.path, { path: file.path, mode: file.mode, contents: decodeDataUrl(file.contents.source)! }]));
}

function render(input: NodeBootstrapInput): IgnitionConfig {
  return JSON.parse(renderIgnition(planNodeBootstrap(input))) as IgnitionConfig;
}

describe('Ignition config', () => {
  let secrets: JoinSecrets;
  let init: NodeBootstrapInput;
  let worker: NodeBootstrapInput;
  before(async () => {
    secrets = await generateJoinSecrets('c1');
    const common = { clusterId: 'c1', spec, controlPlaneEndpoint: '172.16.0.10:6443', secrets, nodeOs: 'flatcar' as const };
    init = { ...common, node: { name: 'c1-cp-0', role: 'control-plane', pool: null, first: true, address: '172.16.0.10' }, breakGlass: { user: 'core', authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkOIhdW8w1ph2sxdfn4kqUZ5VTXTEfQ8UHU7oMhsD3C ops@example'] } };
    worker = { ...common, node: { name: 'c1-general-0', role: 'worker', pool: 'general', first: false, address: '172.16.0.20' } };
  });

  it('passes the structural check of spec 3.4.0 for every kind of node', () => {
    for (const input of [init, worker, { ...worker, node: { ...worker.node, name: 'c1-cp-1', role: 'control-plane' as const, pool: null } }]) {
      const config: unknown = JSON.parse(renderIgnition(planNodeBootstrap(input)));
      assert.deepEqual(ignitionProblems(config), [], input.node.name);
    }
  });

  it('the structural check catches what the spec forbids', () => {
    const config = JSON.parse(renderIgnition(planNodeBootstrap(worker))) as {
      ignition: { version: string };
      storage: { files: { path: string; mode: unknown; contents: { source: string } }[] };
      systemd: { units: { name: string }[] };
      extra?: boolean;
    };
    config.ignition.version = '3.4';
    config.storage.files[0]!.mode = '0644';
    config.storage.files[1]!.path = 'etc/relative';
    config.storage.files[2]!.contents.source = 'https://example.com/x';
    config.systemd.units[0]!.name = 'kubelet';
    config.extra = true;
    assert.deepEqual(ignitionProblems(config), [
      '$.extra: not in the spec',
      '$.ignition.version: must be 3.4.0',
      '$.storage.files[0].mode: must be an integer 0..4095',
      '$.storage.files[1].path: must be an absolute, clean path',
      '$.storage.files[2].contents.source: not a data URL',
      '$.systemd.units[0].name: not a unit name',
    ]);
  });

  it('writes the node configuration, with modes as decimal integers', () => {
    const config = render(init);
    assert.equal(config.ignition.version, '3.4.0');
    const written = files(config);
    assert.equal(written.get('/etc/hostname')?.contents, 'c1-cp-0\n');
    assert.equal(written.get('/etc/hostname')?.mode, 420);
    assert.match(written.get('/etc/sysctl.d/90-kubernetes.conf')!.contents, /^net\.ipv4\.ip_forward = 1$/m);
    assert.match(written.get('/etc/sysctl.d/90-kubernetes.conf')!.contents, /^net\.bridge\.bridge-nf-call-iptables = 1$/m);
    assert.equal(written.get('/etc/modules-load.d/kubernetes.conf')?.contents, 'overlay\nbr_netfilter\n');
    assert.match(written.get('/etc/containerd/config.toml')!.contents, /SystemdCgroup = true/);
    assert.ok(written.has('/etc/systemd/system/containerd.service.d/10-flotilla-config.conf'), 'Flatcar uses the /etc containerd config');
    const kubeadm = written.get('/etc/kubernetes/kubeadm-config.yaml')!;
    assert.equal(kubeadm.mode, 384);
    assert.deepEqual(parseAllDocuments(kubeadm.contents).map((document) => (document.toJS() as { kind: string }).kind), ['InitConfiguration', 'ClusterConfiguration']);
    assert.equal(written.get('/etc/kubernetes/pki/ca.crt')?.contents, secrets.ca.certificatePem);
    assert.equal(written.get('/etc/kubernetes/pki/ca.crt')?.mode, 420);
    assert.equal(written.get('/etc/kubernetes/pki/ca.key')?.contents, secrets.ca.privateKeyPem);
    assert.equal(written.get('/etc/kubernetes/pki/ca.key')?.mode, 384);
    for (const file of config.storage.files) {
      assert.equal(typeof file.mode, 'number');
      assert.ok([420, 384].includes(file.mode), `${file.path}: ${file.mode}`);
      assert.equal(file.overwrite, true);
      assert.deepEqual([file.user, file.group], [{ name: 'root' }, { name: 'root' }]);
    }
    assert.deepEqual(config.passwd?.users, [{ name: 'core', sshAuthorizedKeys: init.breakGlass!.authorizedKeys }]);
  });

  it('enables containerd, the kubelet and a oneshot that runs kubeadm init on the first node, join elsewhere', () => {
    const initUnits = render(init).systemd.units;
    assert.deepEqual(initUnits.map((unit) => [unit.name, unit.enabled]), [['containerd.service', true], ['kubelet.service', true], ['kubeadm-bootstrap.service', true]]);
    for (const unit of initUnits) assert.match(unit.name, /\.service$/);
    const bootstrap = initUnits[2]!.contents ?? '';
    assert.match(bootstrap, /^Type=oneshot$/m);
    assert.match(bootstrap, /^ExecStart=\/usr\/bin\/kubeadm init --config \/etc\/kubernetes\/kubeadm-config\.yaml --upload-certs$/m);
    assert.match(bootstrap, /^WantedBy=multi-user\.target$/m);
    const joinUnits = render(worker).systemd.units;
    assert.match(joinUnits[2]!.contents ?? '', /^ExecStart=\/usr\/bin\/kubeadm join --config \/etc\/kubernetes\/kubeadm-config\.yaml$/m);
    assert.doesNotMatch(joinUnits[2]!.contents ?? '', /init/);
  });

  it('keeps the join token and keys in 0600 files only, never in the clear', () => {
    for (const input of [init, worker]) {
      const json = renderIgnition(planNodeBootstrap(input));
      for (const secret of [secrets.bootstrapToken, secrets.certificateKey, 'PRIVATE KEY']) assert.ok(!json.includes(secret), 'encoded, not in the clear');
      const config = JSON.parse(json) as IgnitionConfig;
      const holders = [...files(config).values()].filter((file) => file.contents.includes(secrets.bootstrapToken) || file.contents.includes('PRIVATE KEY') || file.contents.includes(secrets.certificateKey));
      assert.ok(holders.length > 0);
      for (const file of holders) assert.equal(file.mode, 0o600, file.path);
      for (const unit of config.systemd.units) assert.ok(!(unit.contents ?? '').includes(secrets.bootstrapToken));
    }
    const workerFiles = files(render(worker));
    assert.ok(!workerFiles.has('/etc/kubernetes/pki/ca.key'), 'only the first control-plane node holds the CA key');
    assert.ok(![...workerFiles.values()].some((file) => file.contents.includes(secrets.certificateKey)), 'workers never hold the certificate key');
  });

  it('data URLs decode to the exact bytes, whatever they hold', () => {
    for (const text of ['plain', 'a,b;c%d#e?f&g=h\n', 'ünïcødé ✓\r\n\t', "quotes ' \" and $(sub) `cmd`", '']) {
      assert.equal(decodeDataUrl(dataUrl(text, false)), text);
      assert.equal(decodeDataUrl(dataUrl(text, true)), text);
    }
  });
});
