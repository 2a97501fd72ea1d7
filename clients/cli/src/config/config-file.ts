import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { usageError } from '../errors.js';

/** One API and the credentials to use there, as kubectl's contexts. */
export interface Context {
  name: string;
  /** Base address of the API, e.g. https://flotilla.example.com (the gateway, not a service). */
  server: string;
  token?: string;
  /** PEM file of a private CA that signed the server's certificate. */
  caFile?: string;
  /** Base address of the trace UI (Jaeger): `flotilla trace` prints <traceUrl>/trace/<traceId>. */
  traceUrl?: string;
}

export interface CliConfig {
  currentContext: string | null;
  contexts: Context[];
}

const API_VERSION = 'flotilla.io/v1';
const KIND = 'Config';

/** `$FLOTILLA_CONFIG`, else ~/.flotilla/config.yaml. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.FLOTILLA_CONFIG?.trim();
  return fromEnv ? fromEnv : join(homedir(), '.flotilla', 'config.yaml');
}

export const emptyConfig = (): CliConfig => ({ currentContext: null, contexts: [] });

/** Reads the file; a missing file is an empty configuration, a broken one an error naming the file and the problem. */
export function readConfig(path: string): CliConfig {
  if (!existsSync(path)) return emptyConfig();
  let document: unknown;
  try {
    document = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw usageError(`${path}: not a YAML configuration (${error instanceof Error ? error.message : String(error)}); fix it or remove it and run flotilla login`);
  }
  return parseConfig(document, path);
}

/** The configuration a document holds, checked field by field. */
export function parseConfig(document: unknown, path: string): CliConfig {
  if (document === null || document === undefined) return emptyConfig();
  if (typeof document !== 'object' || Array.isArray(document)) throw usageError(`${path}: must be a mapping with contexts and currentContext`);
  const raw = document as Record<string, unknown>;
  const contextsRaw = raw.contexts ?? [];
  if (!Array.isArray(contextsRaw)) throw usageError(`${path}: contexts must be a list`);
  const contexts = contextsRaw.map((entry, index) => parseContext(entry, `${path}: contexts[${index}]`));
  const names = new Set<string>();
  for (const context of contexts) {
    if (names.has(context.name)) throw usageError(`${path}: two contexts are named "${context.name}"; rename or remove one`);
    names.add(context.name);
  }
  const current = raw.currentContext ?? null;
  if (current !== null && typeof current !== 'string') throw usageError(`${path}: currentContext must be a context name`);
  return { currentContext: current, contexts };
}

function parseContext(entry: unknown, where: string): Context {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw usageError(`${where}: must be a mapping with name and server`);
  const raw = entry as Record<string, unknown>;
  const text = (field: string, required: boolean): string | undefined => {
    const value = raw[field];
    if (value === undefined || value === null) {
      if (required) throw usageError(`${where}.${field}: required`);
      return undefined;
    }
    if (typeof value !== 'string' || value.length === 0) throw usageError(`${where}.${field}: must be a non-empty string`);
    return value;
  };
  const context: Context = { name: text('name', true)!, server: text('server', true)! };
  const token = text('token', false);
  const caFile = text('caFile', false);
  const traceUrl = text('traceUrl', false);
  if (token !== undefined) context.token = token;
  if (caFile !== undefined) context.caFile = caFile;
  if (traceUrl !== undefined) context.traceUrl = traceUrl;
  return context;
}

/**
 * Writes the file readable by its owner only (it holds tokens): the directory 0700, the file 0600,
 * written aside and renamed so a crash never leaves half a file.
 */
export function writeConfig(path: string, config: CliConfig): void {
  const directory = dirname(path);
  if (!existsSync(directory)) mkdirSync(directory, { recursive: true, mode: 0o700 });
  const document = { apiVersion: API_VERSION, kind: KIND, currentContext: config.currentContext, contexts: config.contexts };
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, stringify(document), { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/** A warning when others than the owner can read the file (it holds tokens), else undefined. */
export function permissionWarning(path: string): string | undefined {
  if (process.platform === 'win32' || !existsSync(path)) return undefined;
  const mode = statSync(path).mode & 0o777;
  return mode & 0o077 ? `warning: ${path} is readable by others (mode ${mode.toString(8)}); it holds tokens: chmod 600 ${path}` : undefined;
}

/** Adds or replaces the context of that name. */
export function upsertContext(config: CliConfig, context: Context): CliConfig {
  const others = config.contexts.filter((existing) => existing.name !== context.name);
  return { ...config, contexts: [...others, context].sort((a, b) => a.name.localeCompare(b.name)) };
}

export function findContext(config: CliConfig, name: string): Context | undefined {
  return config.contexts.find((context) => context.name === name);
}

/** The configuration with `name` as its current context; an unknown name is an error listing the known ones. */
export function useContext(config: CliConfig, name: string): CliConfig {
  if (!findContext(config, name)) {
    const known = config.contexts.map((context) => context.name);
    throw usageError(`no context named "${name}"${known.length ? `; known: ${known.join(', ')}` : '; run flotilla login --server URL --context NAME first'}`);
  }
  return { ...config, currentContext: name };
}

/** A context name from a server address: its host and port (`localhost-8443`). */
export function contextNameFor(server: string): string {
  const url = new URL(server);
  return `${url.hostname}${url.port ? `-${url.port}` : ''}`.replace(/[^A-Za-z0-9.-]+/g, '-');
}
