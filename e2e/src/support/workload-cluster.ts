import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually } from '@flotilla/messaging/testing';
import type { RecordedRequest } from '@flotilla/tunnel/testing';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
export const SERVICE_ACCOUNT_TOKEN = 'workload-agent-service-account-token';

function run(args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr || result.error?.message}`);
}

/** Network namespaces need root and iproute2; elsewhere the workload side runs on the host. */
export function canIsolate(): boolean {
  return process.getuid?.() === 0 && (existsSync('/usr/sbin/ip') || existsSync('/sbin/ip') || existsSync('/usr/bin/ip'));
}

/** A child process whose stdout is JSON lines. */
class JsonProcess {
  readonly lines: Record<string, unknown>[] = [];
  readonly exited: Promise<unknown>;

  constructor(readonly child: ChildProcess) {
    this.exited = once(child, 'exit');
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.lines.push({ text: line });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => this.lines.push({ stderr: chunk.toString() }));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await Promise.race([this.exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * A workload cluster behind a firewall: its API server (the stand-in, as a process) and the
 * tunnel agent run in a network namespace of their own (as root), which can reach the host
 * through a veth pair but which the host cannot reach: the global side only ever gets to the API
 * server through the agent's tunnel. Without root, both run on the host (the broker is still
 * never told the API server's address).
 */
export class WorkloadCluster {
  readonly isolated = canIsolate();
  private readonly id = randomBytes(3).toString('hex');
  private readonly dir = mkdtempSync(join(tmpdir(), 'workload-'));
  private readonly octet = 16 + (randomBytes(1)[0]! % 200);
  private apiServer: JsonProcess | undefined;
  private agentProcess: JsonProcess | undefined;
  apiServerUrl = '';

  private get namespace(): string {
    return `flt-${this.id}`;
  }

  /** The host's address as the workload side reaches it. */
  get hostAddress(): string {
    return this.isolated ? `10.231.${this.octet}.1` : '127.0.0.1';
  }

  /** The workload side's own address: the host can route to it, but nothing there listens for the host. */
  get workloadAddress(): string {
    return this.isolated ? `10.231.${this.octet}.2` : '127.0.0.1';
  }

  async start(tls: { cert: string; key: string }): Promise<void> {
    if (this.isolated) {
      const host = `vh${this.id}`;
      const guest = `vg${this.id}`;
      run(['netns', 'add', this.namespace]);
      run(['link', 'add', host, 'type', 'veth', 'peer', 'name', guest]);
      run(['link', 'set', guest, 'netns', this.namespace]);
      run(['addr', 'add', `${this.hostAddress}/30`, 'dev', host]);
      run(['link', 'set', host, 'up']);
      run(['netns', 'exec', this.namespace, 'ip', 'addr', 'add', `${this.workloadAddress}/30`, 'dev', guest]);
      run(['netns', 'exec', this.namespace, 'ip', 'link', 'set', guest, 'up']);
      run(['netns', 'exec', this.namespace, 'ip', 'link', 'set', 'lo', 'up']);
    }
    writeFileSync(join(this.dir, 'api.crt'), tls.cert);
    writeFileSync(join(this.dir, 'api.key'), tls.key);
    // What the kubelet mounts in the agent's pod.
    mkdirSync(join(this.dir, 'serviceaccount'));
    writeFileSync(join(this.dir, 'serviceaccount/token'), SERVICE_ACCOUNT_TOKEN);
    writeFileSync(join(this.dir, 'serviceaccount/ca.crt'), tls.cert);
    writeFileSync(join(this.dir, 'serviceaccount/namespace'), 'flotilla-system');
    this.apiServer = this.spawn(join(root, 'e2e/dist/src/support/stand-in-main.js'), {
      STANDIN_CERT_FILE: join(this.dir, 'api.crt'),
      STANDIN_KEY_FILE: join(this.dir, 'api.key'),
      STANDIN_TOKEN: SERVICE_ACCOUNT_TOKEN,
    });
    const ready = await eventually(() => this.apiServer!.lines.find((line) => typeof line['ready'] === 'string'), 15_000, 'the stand-in API server');
    this.apiServerUrl = String(ready['ready']);
  }

  /** Creates a secret in the cluster, as `kubectl apply` of the registration manifest would. */
  putSecret(namespace: string, name: string, stringData: Record<string, string>): void {
    this.apiServer!.child.stdin!.write(`${JSON.stringify({ op: 'secret', namespace, name, stringData })}\n`);
  }

  addPod(namespace: string, name: string): void {
    this.apiServer!.child.stdin!.write(`${JSON.stringify({ op: 'pod', namespace, name })}\n`);
  }

  async secret(namespace: string, name: string): Promise<{ data?: Record<string, string> } | null> {
    const before = this.apiServer!.lines.length;
    this.apiServer!.child.stdin!.write(`${JSON.stringify({ op: 'show-secret', namespace, name })}\n`);
    const answer = await eventually(() => this.apiServer!.lines.slice(before).find((line) => 'secret' in line));
    return answer['secret'] as { data?: Record<string, string> } | null;
  }

  /** Every request the API server served, as it saw them. */
  get requests(): RecordedRequest[] {
    return (this.apiServer?.lines ?? []).filter((line) => 'request' in line).map((line) => line['request'] as RecordedRequest);
  }

  /** Starts the real agent program with the manifest's environment, in the workload's namespace. */
  startAgent(env: Record<string, string>): void {
    this.agentProcess = this.spawn(join(root, 'agents/tunnel-agent/dist/src/main.js'), {
      ...env,
      FLOTILLA_SERVICE_ACCOUNT_DIR: join(this.dir, 'serviceaccount'),
      FLOTILLA_KUBERNETES_API: this.apiServerUrl,
    });
  }

  /** The agent's log lines (JSON). */
  get agentLog(): Record<string, unknown>[] {
    return this.agentProcess?.lines ?? [];
  }

  async stopAgent(): Promise<void> {
    await this.agentProcess?.stop();
  }

  async stop(): Promise<void> {
    await this.agentProcess?.stop();
    await this.apiServer?.stop();
    if (this.isolated) spawnSync('ip', ['netns', 'del', this.namespace]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(entry: string, env: Record<string, string>): JsonProcess {
    const command = this.isolated ? ['ip', 'netns', 'exec', this.namespace, process.execPath, entry] : [process.execPath, entry];
    return new JsonProcess(spawn(command[0]!, command.slice(1), { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
  }
}
