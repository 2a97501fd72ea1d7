import { CliError, ExitCode, usageError } from '../errors.js';
import { configPath, findContext, readConfig, type CliConfig, type Context } from './config-file.js';

/** The global flags every command takes; they win over the environment and the context. */
export interface GlobalOptions {
  server?: string;
  token?: string;
  context?: string;
  caFile?: string;
}

/** Where to call and as whom: what one invocation resolved from flags, environment and the configuration file. */
export interface Connection {
  server: URL;
  token: string | undefined;
  caFile: string | undefined;
  traceUrl: string | undefined;
  /** The context used, if any (for messages). */
  contextName: string | undefined;
}

/**
 * Flags first, then FLOTILLA_SERVER / FLOTILLA_TOKEN / FLOTILLA_CA_FILE / FLOTILLA_TRACE_URL,
 * then the named (or current) context of the configuration file.
 */
export function resolveConnection(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env, config: CliConfig = readConfig(configPath(env))): Connection {
  const contextName = options.context ?? (options.server === undefined ? (config.currentContext ?? undefined) : undefined);
  let context: Context | undefined;
  if (contextName !== undefined) {
    context = findContext(config, contextName);
    if (!context && options.context !== undefined) {
      throw usageError(`--context: no context named "${options.context}" in ${configPath(env)}; see flotilla config get-contexts`);
    }
  }
  const server = options.server ?? nonEmpty(env.FLOTILLA_SERVER) ?? context?.server;
  if (server === undefined) {
    throw new CliError('no Flotilla API configured: run flotilla login --server https://HOST[:PORT], or pass --server (or set FLOTILLA_SERVER)', ExitCode.Unauthorized);
  }
  return {
    server: parseServer(server, options.server !== undefined ? '--server' : nonEmpty(env.FLOTILLA_SERVER) !== undefined ? 'FLOTILLA_SERVER' : `context "${context?.name}"`),
    token: options.token ?? nonEmpty(env.FLOTILLA_TOKEN) ?? context?.token,
    caFile: options.caFile ?? nonEmpty(env.FLOTILLA_CA_FILE) ?? context?.caFile,
    traceUrl: nonEmpty(env.FLOTILLA_TRACE_URL) ?? context?.traceUrl,
    contextName: context?.name,
  };
}

/** An http(s) base address; anything else is a usage error naming where it came from. */
export function parseServer(text: string, from: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usageError(`${from}: "${text}" is not a URL; give the API address like https://flotilla.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usageError(`${from}: must be an http or https URL, is ${url.protocol}`);
  if (url.search || url.hash) throw usageError(`${from}: must be the base address without query or fragment`);
  return url;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
