import type { ServerResponse } from 'node:http';
import type { KubeObject } from './status.js';

export interface PodOptions {
  /** `Running` by default. */
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  labels?: Record<string, string>;
  /** Container names; one (`main`) by default. */
  containers?: string[];
  /** The log so far. */
  log?: string;
  /** A log of this many bytes of generated lines instead (for big transfers), sent with backpressure. */
  logBytes?: number;
}

export function podObject(namespace: string, name: string, options: PodOptions, nodeName: string): KubeObject {
  const containers = options.containers ?? ['main'];
  const phase = options.phase ?? 'Running';
  const running = phase === 'Running';
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: options.labels ?? {} },
    spec: { nodeName, containers: containers.map((container) => ({ name: container, image: 'registry.k8s.io/pause:3.10' })) },
    status: {
      phase,
      conditions: [{ type: 'Ready', status: running ? 'True' : 'False' }],
      startTime: now,
      containerStatuses: containers.map((container) => ({ name: container, ready: running, restartCount: 0, image: 'registry.k8s.io/pause:3.10', state: running ? { running: { startedAt: now } } : { waiting: { reason: 'ContainerCreating' } } })),
    },
  };
}

interface PodLog {
  text: string;
  bytes: number | undefined;
  followers: Set<ServerResponse>;
}

/** Each pod's log: what was written so far, and the callers following it (`follow=true`). */
export class PodLogs {
  private readonly logs = new Map<string, PodLog>();

  reset(namespace: string, name: string, options: PodOptions): void {
    this.end(namespace, name);
    this.logs.set(`${namespace}/${name}`, { text: options.log ?? '', bytes: options.logBytes, followers: new Set() });
  }

  append(namespace: string, name: string, text: string): void {
    const log = this.logs.get(`${namespace}/${name}`);
    if (!log) throw new Error(`no pod ${namespace}/${name}`);
    log.text += text;
    for (const follower of log.followers) follower.write(text);
  }

  /** The pod is gone: its followers' streams end. */
  end(namespace: string, name: string): void {
    const log = this.logs.get(`${namespace}/${name}`);
    this.logs.delete(`${namespace}/${name}`);
    for (const follower of log?.followers ?? []) follower.end();
  }

  serve(namespace: string, name: string, follow: boolean, response: ServerResponse): void {
    let log = this.logs.get(`${namespace}/${name}`);
    if (!log) this.logs.set(`${namespace}/${name}`, (log = { text: '', bytes: undefined, followers: new Set() }));
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.flushHeaders();
    const then = () => {
      response.write(log.text);
      if (!follow) return void response.end();
      log.followers.add(response);
      response.once('close', () => log.followers.delete(response));
    };
    if (log.bytes === undefined) return then();
    writeGenerated(response, log.bytes, then);
  }
}

/** `bytes` of numbered 100-byte lines, written as fast as the reader takes them. */
function writeGenerated(response: ServerResponse, bytes: number, then: () => void): void {
  const line = (n: number) => `line ${String(n).padStart(10, '0')} `.padEnd(99, 'x') + '\n';
  const perChunk = 2_600; // about 256 KiB a write
  let sent = 0;
  let n = 0;
  const pump = () => {
    while (sent < bytes) {
      if (response.destroyed) return;
      let chunk = '';
      for (let i = 0; i < perChunk && sent + chunk.length < bytes; i++) chunk += line(n++);
      chunk = chunk.slice(0, bytes - sent);
      sent += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', pump);
    }
    then();
  };
  pump();
}

/** Whether a request asks for server-side printing, as `kubectl get` does (`Accept: application/json;as=Table;...`). */
export function wantsTable(accept: string | undefined): boolean {
  return /;\s*as=Table/.test(accept ?? '');
}

const POD_COLUMNS = [
  { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 },
  { name: 'Ready', type: 'string', format: '', description: 'The aggregate readiness state of this pod for accepting traffic.', priority: 0 },
  { name: 'Status', type: 'string', format: '', description: 'The aggregate status of the containers in this pod.', priority: 0 },
  { name: 'Restarts', type: 'string', format: '', description: 'The number of times the containers in this pod have been restarted.', priority: 0 },
  { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp.', priority: 0 },
  { name: 'Node', type: 'string', format: '', description: 'The node the pod runs on.', priority: 1 },
];

/** Pods as kube-apiserver prints them for kubectl: NAME READY STATUS RESTARTS AGE (NODE with -o wide). */
export function podTable(pods: KubeObject[], resourceVersion?: string): object {
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: resourceVersion === undefined ? {} : { resourceVersion }, columnDefinitions: POD_COLUMNS, rows: pods.map(podRow) };
}

function podRow(pod: KubeObject): object {
  const status = pod.status as { phase?: string; containerStatuses?: Array<{ ready: boolean; restartCount: number }> };
  const containers = status.containerStatuses ?? [];
  const cells = [
    pod.metadata.name,
    `${containers.filter((container) => container.ready).length}/${containers.length}`,
    status.phase ?? 'Unknown',
    String(containers.reduce((sum, container) => sum + container.restartCount, 0)),
    age(pod.metadata.creationTimestamp),
    (pod.spec as { nodeName?: string }).nodeName ?? '<none>',
  ];
  return { cells, object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata } };
}

function age(since: string | undefined): string {
  const seconds = since ? Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000)) : 0;
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3_600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
