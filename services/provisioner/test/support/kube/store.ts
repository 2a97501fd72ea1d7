import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

/** A Kubernetes object as the stand-in keeps it: plain JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; deletionTimestamp?: string; labels?: Record<string, string>; managedFields?: unknown[]; [field: string]: unknown };
  [field: string]: unknown;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

/** A failure the API server answers with a v1 Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

interface Change {
  resource: string;
  namespace: string;
  version: number;
  event: WatchEvent;
}

/**
 * Objects by resource, namespace and name with one resourceVersion counter (etcd's revision):
 * each write bumps it, and a watch from a version replays what changed after it, then follows.
 */
export class ObjectStore {
  private version = 1;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: Change[] = [];
  private readonly changes = new EventEmitter<{ change: [Change] }>();

  constructor() {
    this.changes.setMaxListeners(0);
  }

  get resourceVersion(): string {
    return String(this.version);
  }

  find(resource: string, namespace: string, name: string): KubeObject | undefined {
    const found = this.objects.get(key(resource, namespace, name));
    return found && structuredClone(found);
  }

  list(resource: string, namespace?: string): KubeObject[] {
    return [...this.objects.entries()].filter(([entry]) => entry.startsWith(`${resource}/${namespace === undefined ? '' : `${namespace}/`}`)).map(([, object]) => structuredClone(object));
  }

  /** Creates or replaces; returns what is stored now. */
  put(resource: string, namespace: string, object: KubeObject): KubeObject {
    const existing = this.objects.get(key(resource, namespace, object.metadata.name));
    this.version++;
    const stored: KubeObject = structuredClone(object);
    stored.metadata = {
      ...stored.metadata,
      ...(namespace === '' ? {} : { namespace }),
      uid: existing?.metadata.uid ?? randomUUID(),
      creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      resourceVersion: String(this.version),
    };
    this.objects.set(key(resource, namespace, object.metadata.name), stored);
    this.record({ resource, namespace, version: this.version, event: { type: existing ? 'MODIFIED' : 'ADDED', object: structuredClone(stored) } });
    return structuredClone(stored);
  }

  remove(resource: string, namespace: string, name: string): KubeObject | undefined {
    const existing = this.objects.get(key(resource, namespace, name));
    if (!existing) return undefined;
    this.objects.delete(key(resource, namespace, name));
    this.version++;
    const gone = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(this.version) } };
    this.record({ resource, namespace, version: this.version, event: { type: 'DELETED', object: gone } });
    return gone;
  }

  /** Events of `resource` in `namespace` after `since` (every object as ADDED when absent), then each new one. */
  watch(resource: string, namespace: string | undefined, since: string | undefined, onEvent: (event: WatchEvent) => void): () => void {
    const matches = (change: Change) => change.resource === resource && (namespace === undefined || change.namespace === namespace);
    if (since === undefined || since === '' || since === '0') {
      for (const object of this.list(resource, namespace)) onEvent({ type: 'ADDED', object });
    } else {
      const from = Number(since);
      const oldest = this.history[0]?.version ?? this.version;
      if (!Number.isInteger(from) || from < oldest - 1) throw new ApiError(410, 'Expired', `too old resource version: ${since}`);
      for (const change of this.history) if (change.version > from && matches(change)) onEvent(structuredClone(change.event));
    }
    const listener = (change: Change) => {
      if (matches(change)) onEvent(structuredClone(change.event));
    };
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  private record(change: Change): void {
    this.history.push(change);
    if (this.history.length > 10_000) this.history.shift();
    this.changes.emit('change', change);
  }
}

function key(resource: string, namespace: string, name: string): string {
  return `${resource}/${namespace}/${name}`;
}
