import { ApiError } from './status.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON merge patch (RFC 7386); a strategic merge patch is taken as one (enough for Secrets and Pods' maps). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

interface Operation {
  op: string;
  path: string;
  value?: unknown;
}

/** JSON patch (RFC 6902): add, replace, remove and test. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new ApiError(400, 'a JSON patch is an array of operations');
  let document: unknown = structuredClone(target);
  for (const operation of operations as Operation[]) {
    const tokens = pointer(operation.path);
    if (tokens.length === 0) {
      if (operation.op === 'test') assertEqual(document, operation.value, operation.path);
      else document = operation.op === 'remove' ? null : operation.value;
      continue;
    }
    const parent = walk(document, tokens.slice(0, -1), operation.path);
    const last = tokens.at(-1)!;
    apply(parent, last, operation);
  }
  return document;
}

function apply(parent: unknown, key: string, operation: Operation): void {
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new ApiError(422, `no element ${key} at ${operation.path}`);
    if (operation.op === 'add') parent.splice(index, 0, operation.value);
    else if (operation.op === 'replace') parent[index] = operation.value;
    else if (operation.op === 'remove') parent.splice(index, 1);
    else if (operation.op === 'test') assertEqual(parent[index], operation.value, operation.path);
    else throw new ApiError(422, `unsupported patch operation ${operation.op}`);
    return;
  }
  if (!isObject(parent)) throw new ApiError(422, `no object at ${operation.path}`);
  const present = Object.hasOwn(parent, key);
  if (operation.op === 'add') parent[key] = operation.value as Json;
  else if ((operation.op === 'replace' || operation.op === 'remove') && !present) throw new ApiError(422, `nothing at ${operation.path} to ${operation.op}`);
  else if (operation.op === 'replace') parent[key] = operation.value as Json;
  else if (operation.op === 'remove') delete parent[key];
  else if (operation.op === 'test') assertEqual(parent[key], operation.value, operation.path);
  else throw new ApiError(422, `unsupported patch operation ${operation.op}`);
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new ApiError(422, `not a JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function walk(document: unknown, tokens: string[], path: string): unknown {
  let here = document;
  for (const token of tokens) {
    if (Array.isArray(here)) here = here[Number(token)];
    else if (isObject(here)) here = here[token];
    else here = undefined;
    if (here === undefined) throw new ApiError(422, `no value at ${path}`);
  }
  return here;
}

function assertEqual(actual: unknown, expected: unknown, path: string): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new ApiError(422, `test failed at ${path}`);
}
