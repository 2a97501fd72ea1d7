import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ApiError, type KubeObject } from './status.js';

/** The namespaced resources the stand-in keeps. */
export type StoredResource = 'pods' | 'secrets';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

interface Change {
  resource: StoredResource;
  namespace: string;
  version: number;
  event: WatchEvent;
}

const KINDS: Record<StoredResource, string> = { pods: 'Pod', secrets: 'Secret' };
const HISTORY = 10_000;

/**
 * Objects by resource, namespace and name, with one resourceVersion counter for all of them
 * (as etcd's revision): a write bumps it, a replace naming an older version is a conflict, and a
 * watch from a version replays what changed after it.
 */
export class ObjectStore {
  private version = 1;
  private readonly objects = new Map<string, KubeObject>();
  private readonly history: Change[] = [];
  private readonly changes = new EventEmitter<{ change: [Change] }>();
  private readonly knownNamespaces = new Set<string>(['default', 'kube-system', 'kube-public']);

  constructor() {
    this.changes.setMaxListeners(0);
  }

  get resourceVersion(): string {
    return String(this.version);
  }

  namespaces(): string[] {
    return [...this.knownNamespaces].sort();
  }

  list(resource: StoredResource, namespace?: string): KubeObject[] {
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(`${resource}/${namespace === undefined ? '' : `${namespace}/`}`))
      .map(([, object]) => structuredClone(object));
  }

  get(resource: StoredResource, namespace: string, name: string): KubeObject {
    const found = this.objects.get(key(resource, namespace, name));
    if (!found) throw new ApiError(404, `${resource} "${name}" not found`, 'NotFound', { name, kind: resource });
    return structuredClone(found);
  }

  find(resource: StoredResource, namespace: string, name: string): KubeObject | undefined {
    const found = this.objects.get(key(resource, namespace, name));
    return found && structuredClone(found);
  }

  create(resource: StoredResource, namespace: string, body: KubeObject): KubeObject {
    const metadata = body.metadata ?? {};
    const name = metadata.name ?? (metadata.generateName ? `${metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}` : undefined);
    if (!name) throw new ApiError(422, `${resource}: metadata.name is required`);
    if (this.objects.has(key(resource, namespace, name))) throw new ApiError(409, `${resource} "${name}" already exists`, 'AlreadyExists', { name, kind: resource });
    const object: KubeObject = { ...normalize(resource, body), metadata: { ...metadata, name, namespace, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } };
    delete object.metadata.generateName;
    return this.write(resource, namespace, name, object, 'ADDED');
  }

  /** Replaces an object; a body naming a resourceVersion other than the current one is a conflict. */
  replace(resource: StoredResource, namespace: string, name: string, body: KubeObject): KubeObject {
    const current = this.get(resource, namespace, name);
    const asked = body.metadata?.resourceVersion;
    if (asked !== undefined && asked !== '' && asked !== current.metadata.resourceVersion) {
      throw new ApiError(409, `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`, 'Conflict', { name, kind: resource });
    }
    if (body.metadata?.name !== undefined && body.metadata.name !== name) throw new ApiError(400, `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    const object: KubeObject = { ...normalize(resource, body), metadata: { ...body.metadata, name, namespace, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp } };
    return this.write(resource, namespace, name, object, 'MODIFIED');
  }

  delete(resource: StoredResource, namespace: string, name: string): KubeObject {
    const current = this.get(resource, namespace, name);
    this.objects.delete(key(resource, namespace, name));
    this.version++;
    const object = { ...current, metadata: { ...current.metadata, resourceVersion: String(this.version) } };
    this.record({ resource, namespace, version: this.version, event: { type: 'DELETED', object } });
    return object;
  }

  /**
   * Calls `onEvent` for each change of `resource` (in `namespace`, or all): first those after
   * `since` (a resourceVersion), or every current object as ADDED when `since` is absent or "0".
   * Returns the function that stops it.
   */
  watch(resource: StoredResource, namespace: string | undefined, since: string | undefined, onEvent: (event: WatchEvent) => void): () => void {
    const matches = (change: Change) => change.resource === resource && (namespace === undefined || change.namespace === namespace);
    if (since === undefined || since === '' || since === '0') {
      for (const object of this.list(resource, namespace)) onEvent({ type: 'ADDED', object });
    } else {
      const from = Number(since);
      const oldest = this.history[0]?.version ?? this.version;
      if (!Number.isInteger(from) || from < oldest - 1) throw new ApiError(410, `too old resource version: ${since}`, 'Expired');
      for (const change of this.history) if (change.version > from && matches(change)) onEvent(structuredClone(change.event));
    }
    const listener = (change: Change) => {
      if (matches(change)) onEvent(structuredClone(change.event));
    };
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  private write(resource: StoredResource, namespace: string, name: string, object: KubeObject, type: WatchEvent['type']): KubeObject {
    this.version++;
    object.metadata.resourceVersion = String(this.version);
    this.objects.set(key(resource, namespace, name), object);
    this.knownNamespaces.add(namespace);
    this.record({ resource, namespace, version: this.version, event: { type, object: structuredClone(object) } });
    return structuredClone(object);
  }

  private record(change: Change): void {
    this.history.push(change);
    if (this.history.length > HISTORY) this.history.shift();
    this.changes.emit('change', change);
  }
}

function key(resource: StoredResource, namespace: string, name: string): string {
  return `${resource}/${namespace}/${name}`;
}

/** What the API server does to a written object: its kind, and a Secret's stringData folded into data. */
function normalize(resource: StoredResource, body: KubeObject): KubeObject {
  const object: KubeObject = { ...structuredClone(body), apiVersion: 'v1', kind: KINDS[resource] };
  if (resource === 'secrets') {
    const stringData = (object.stringData ?? {}) as Record<string, string>;
    const data = { ...((object.data ?? {}) as Record<string, string>) };
    for (const [name, value] of Object.entries(stringData)) data[name] = Buffer.from(value).toString('base64');
    delete object.stringData;
    object.data = data;
    object.type ??= 'Opaque';
  }
  return object;
}
