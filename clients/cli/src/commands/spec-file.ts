import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { parse } from 'yaml';
import { usageError } from '../errors.js';

/** A file's text; one that cannot be read is a usage error naming the flag and the file. */
export function readTextFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw usageError(`${flag} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A YAML or JSON document from a file, or from stdin for `-`; a file that cannot be read or parsed is a usage error naming it. */
export async function readDocument(path: string, flag = '-f'): Promise<unknown> {
  const source = path === '-' ? await text(process.stdin) : readTextFile(path, flag);
  return parseDocument(source, path === '-' ? 'stdin' : path);
}

/** YAML (JSON is YAML too): one document, a mapping. */
export function parseDocument(source: string, name: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = parse(source, { prettyErrors: true });
  } catch (error) {
    throw usageError(`${name}: not valid YAML or JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw usageError(`${name}: must hold one mapping (a cluster spec with name, model, kubernetesVersion, controlPlane...)`);
  return document as Record<string, unknown>;
}
