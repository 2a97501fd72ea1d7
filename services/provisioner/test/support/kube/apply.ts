import { ApiError, type KubeObject } from './store.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Fields = Map<string, Json>;

/** The metadata a server owns: never taken from an applied configuration. */
const SERVER_METADATA = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'generation']);

/**
 * Server-side apply, as far as the provisioner's use needs it: each field manager owns the leaf
 * fields (lists whole) it applied; applying sets them, drops the ones it owned and no longer
 * applies, and refuses (409 Conflict) to change a field another manager owns with another value
 * unless forced, when ownership moves. `status` is a subresource and never applied.
 */
export function serverSideApply(current: KubeObject | undefined, applied: KubeObject, manager: string, force: boolean): KubeObject {
  const incoming = leaves(withoutServerFields(applied));
  const owners = ownersOf(current);
  const existing = current ? leaves(withoutServerFields(current)) : new Map<string, Json>();
  const conflicts = [...incoming.entries()].filter(([path, value]) => {
    const owner = owners.get(path);
    return owner !== undefined && owner !== manager && JSON.stringify(existing.get(path)) !== JSON.stringify(value);
  });
  if (conflicts.length > 0 && !force) {
    throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict(s): ${conflicts.map(([path]) => `conflict with "${owners.get(path)}": ${path}`).join(', ')}`);
  }
  const result = new Map(existing);
  for (const [path, owner] of owners) if (owner === manager && !incoming.has(path)) result.delete(path);
  for (const [path, value] of incoming) result.set(path, value);
  const nextOwners = new Map(owners);
  for (const [path, owner] of owners) if (owner === manager && !incoming.has(path)) nextOwners.delete(path);
  for (const path of incoming.keys()) nextOwners.set(path, manager);
  const object = build(result) as KubeObject;
  object.metadata = { ...(current?.metadata ?? {}), ...(object.metadata ?? {}), name: applied.metadata.name, managedFields: managedFields(nextOwners) };
  if (current?.['status'] !== undefined) object['status'] = current['status'];
  return object;
}

function withoutServerFields(object: KubeObject): Record<string, Json> {
  const copy = structuredClone(object) as unknown as Record<string, Json>;
  delete copy['status'];
  const metadata = (copy['metadata'] ?? {}) as Record<string, Json>;
  for (const field of SERVER_METADATA) delete metadata[field];
  return copy;
}

/** Leaf paths (`["spec","controlPlane","replicas"]` as JSON, keys may hold dots) and their values; lists are leaves. */
function leaves(value: Record<string, Json>, prefix: string[] = [], out: Fields = new Map()): Fields {
  for (const [field, item] of Object.entries(value)) {
    const path = [...prefix, field];
    if (item !== null && typeof item === 'object' && !Array.isArray(item) && Object.keys(item).length > 0) leaves(item, path, out);
    else out.set(JSON.stringify(path), item);
  }
  return out;
}

function build(fields: Fields): Record<string, Json> {
  const root: Record<string, Json> = {};
  for (const [path, value] of fields) {
    const parts = JSON.parse(path) as string[];
    let here = root;
    for (const part of parts.slice(0, -1)) here = (here[part] ??= {}) as Record<string, Json>;
    here[parts.at(-1)!] = structuredClone(value);
  }
  return root;
}

/** Owners by leaf path, read back from managedFields (`fieldsV1` here is the list of paths). */
function ownersOf(object: KubeObject | undefined): Map<string, string> {
  const owners = new Map<string, string>();
  for (const entry of (object?.metadata.managedFields ?? []) as { manager: string; fieldsV1: { paths: string[] } }[]) {
    for (const path of entry.fieldsV1.paths) owners.set(path, entry.manager);
  }
  return owners;
}

function managedFields(owners: Map<string, string>): unknown[] {
  const byManager = new Map<string, string[]>();
  for (const [path, manager] of owners) byManager.set(manager, [...(byManager.get(manager) ?? []), path]);
  return [...byManager.entries()].map(([manager, paths]) => ({ manager, operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { paths: paths.sort() } }));
}
