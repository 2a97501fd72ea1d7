import { stringify } from 'yaml';
import { usageError } from '../errors.js';

export type DocumentFormat = 'json' | 'yaml';

/** An API object as JSON (indented, a trailing newline) or YAML, for -o json|yaml. */
export function renderDocument(value: unknown, format: DocumentFormat): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** -o: one of `allowed`, else a usage error listing them. */
export function outputFormat<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usageError(`-o/--output: "${value}" is not one of ${allowed.join(', ')}`);
}
