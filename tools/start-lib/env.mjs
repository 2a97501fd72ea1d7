// Settings of `npm start`, resolved from the environment. Pure: no I/O, so it is unit tested.

/** The five services, in start order, with the port each listens on by default. */
export const SERVICES = Object.freeze([
  { name: 'inventory', port: 8080 },
  { name: 'provisioner', port: 8081 },
  { name: 'importer', port: 8082 },
  { name: 'upgrade-planner', port: 8083 },
  { name: 'tunnel-broker', port: 8084 },
]);

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/flotilla';
export const DEFAULT_BUS_PREFIX = 'flotilla';
/** The one address operators use: npm start's gateway (FLOTILLA_PORT). */
export const DEFAULT_GATEWAY_PORT = 8443;
/** The tunnel broker's agents' listener (mutual TLS), as in its own configuration. */
export const DEFAULT_TUNNEL_AGENT_PORT = 8091;
/** `host:port` as the broker accepts TUNNEL_AGENT_ADDRESS. */
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

/** `upgrade-planner` -> `UPGRADE_PLANNER_PORT`: overrides one service's port. */
export function portVariable(service) {
  return `${service.toUpperCase().replaceAll('-', '_')}_PORT`;
}

/** The PostgreSQL schema a service owns: its name with `-` turned into `_`. */
export function schemaName(service) {
  return service.replaceAll('-', '_');
}

/** A variable's trimmed value, or undefined when it is unset or blank. */
export const nonEmpty = (value) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

/**
 * Which services to run: the names given on the command line (`npm start -- inventory importer`),
 * or all five. Throws on an unknown name.
 */
export function selectServices(names = []) {
  if (names.length === 0) return [...SERVICES];
  const unknown = names.filter((name) => !SERVICES.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown service ${unknown.join(', ')}: choose from ${SERVICES.map((s) => s.name).join(', ')}`);
  }
  return SERVICES.filter((s) => names.includes(s.name));
}

/** Resolves everything the launcher needs from `env` (normally process.env). */
export function resolveSettings(env, names = []) {
  const services = selectServices(names).map((service) => {
    const variable = portVariable(service.name);
    const raw = nonEmpty(env[variable]);
    const port = raw === undefined ? service.port : parsePort(raw, variable);
    return { name: service.name, port, schema: schemaName(service.name) };
  });
  const gatewayRaw = nonEmpty(env.FLOTILLA_PORT);
  const gatewayPort = gatewayRaw === undefined ? DEFAULT_GATEWAY_PORT : parsePort(gatewayRaw, 'FLOTILLA_PORT');
  const tlsSetting = (nonEmpty(env.FLOTILLA_TLS) ?? 'on').toLowerCase();
  if (!['on', 'off'].includes(tlsSetting)) throw new Error(`FLOTILLA_TLS=${env.FLOTILLA_TLS}: use on (the default) or off`);
  const ports = new Map([[gatewayPort, 'the entry point (FLOTILLA_PORT)']]);
  for (const s of services) {
    if (ports.has(s.port)) throw new Error(`${s.name} and ${ports.get(s.port)} would both listen on port ${s.port}`);
    ports.set(s.port, s.name);
  }
  const tunnel = resolveTunnelSettings(env);
  if (services.some((s) => s.name === 'tunnel-broker') && ports.has(tunnel.agentPort)) {
    throw new Error(`the tunnel agents' port (FLOTILLA_TUNNEL_AGENT_PORT) and ${ports.get(tunnel.agentPort)} would both listen on port ${tunnel.agentPort}`);
  }
  const natsUrl = nonEmpty(env.NATS_URL) ?? DEFAULT_NATS_URL;
  const databaseUrl = nonEmpty(env.DATABASE_URL) ?? DEFAULT_DATABASE_URL;
  return {
    natsUrl,
    natsFromEnv: nonEmpty(env.NATS_URL) !== undefined,
    nats: parseNatsUrl(natsUrl),
    databaseUrl,
    databaseFromEnv: nonEmpty(env.DATABASE_URL) !== undefined,
    database: parseDatabaseUrl(databaseUrl),
    busPrefix: nonEmpty(env.BUS_PREFIX) ?? DEFAULT_BUS_PREFIX,
    logLevel: nonEmpty(env.LOG_LEVEL),
    gateway: { port: gatewayPort, tls: tlsSetting === 'on' },
    tunnel,
    services,
  };
}

/**
 * Register mode of a local run, from the environment:
 * - FLOTILLA_TUNNEL_AGENT_PORT: where the broker listens for agents (8091; when that is taken and
 *   the variable is unset, the launcher picks a free port);
 * - FLOTILLA_TUNNEL_AGENT_ADDRESS: `host:port` agents dial (default: this machine's address and
 *   that port); its host is also where agents enroll;
 * - FLOTILLA_REGISTRATION_TUNNEL_URL: the https:// URL written into agent manifests (default: the
 *   entry point at that host).
 * Throws naming the variable when one is bad.
 */
export function resolveTunnelSettings(env) {
  const portRaw = nonEmpty(env.FLOTILLA_TUNNEL_AGENT_PORT);
  const agentPort = portRaw === undefined ? DEFAULT_TUNNEL_AGENT_PORT : parsePort(portRaw, 'FLOTILLA_TUNNEL_AGENT_PORT');
  const address = nonEmpty(env.FLOTILLA_TUNNEL_AGENT_ADDRESS);
  let agentAddress;
  if (address !== undefined) {
    const match = HOST_PORT.exec(address);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) throw new Error(`FLOTILLA_TUNNEL_AGENT_ADDRESS=${address} is not host:port (where agents dial, e.g. 192.168.1.20:8091)`);
    agentAddress = { host: unbracket(match[1]), port, text: address };
  }
  const url = nonEmpty(env.FLOTILLA_REGISTRATION_TUNNEL_URL);
  let registrationUrl;
  if (url !== undefined) {
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`FLOTILLA_REGISTRATION_TUNNEL_URL=${url} is not a URL (expected https://host:port, Flotilla's address as agents reach it)`);
    }
    if (parsed.protocol !== 'https:') throw new Error(`FLOTILLA_REGISTRATION_TUNNEL_URL must be an https:// URL (got ${parsed.protocol}//)`);
    if (parsed.username || parsed.password || parsed.search || parsed.hash) throw new Error('FLOTILLA_REGISTRATION_TUNNEL_URL must be a plain https:// URL (no user, query or fragment)');
    registrationUrl = `${parsed.origin}${parsed.pathname.replace(/\/$/, '')}`;
  }
  return { agentPort, agentPortFromEnv: portRaw !== undefined, agentAddress, registrationUrl };
}

function parsePort(raw, name) {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}=${raw} is not a TCP port`);
  return port;
}

/** `nats://a:4222,nats://b` -> [{ host: 'a', port: 4222 }, { host: 'b', port: 4222 }]. */
export function parseNatsUrl(url) {
  const servers = url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((server) => {
      const withScheme = /^[a-z]+:\/\//i.test(server) ? server : `nats://${server}`;
      let parsed;
      try {
        parsed = new URL(withScheme);
      } catch {
        throw new Error(`NATS_URL: cannot parse ${JSON.stringify(server)}`);
      }
      return { host: unbracket(parsed.hostname) || '127.0.0.1', port: parsed.port ? Number(parsed.port) : 4222 };
    });
  if (servers.length === 0) throw new Error('NATS_URL is empty');
  return servers;
}

/** `postgres://user:pw@host:5433/db?x=y` -> host, port, user, database (password left out). */
export function parseDatabaseUrl(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('DATABASE_URL is not a URL (expected postgres://user@host:port/database)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgres:// (got ${parsed.protocol}//)`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '') throw new Error('DATABASE_URL names no database (expected postgres://user@host:port/database)');
  return {
    host: unbracket(parsed.hostname) || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username) || 'postgres',
    database,
  };
}

/** The same URL pointing at another database (the maintenance database `postgres`, to create ours). */
export function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The URL with its password replaced, fit for printing. */
export function redactUrl(url) {
  return url.replace(/(\/\/[^:/@]+:)[^@/]*@/g, '$1***@');
}

export function isLoopback(host) {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function unbracket(host) {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Quotes an SQL identifier: `my"db` -> `"my""db"`. */
export function quoteIdentifier(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The environment of one service process: the launcher's own environment (so OTEL_* and the like
 * pass through), then the contract's variables, which win.
 */
export function serviceEnv(baseEnv, settings, service, extra = {}) {
  const env = { ...baseEnv, ...extra };
  // A PORT meant for one program must not leak into five.
  delete env.PORT;
  for (const s of SERVICES) delete env[portVariable(s.name)];
  Object.assign(env, {
    FLOTILLA_SERVICE: service.name,
    PORT: String(service.port),
    NATS_URL: settings.natsUrl,
    DATABASE_URL: settings.databaseUrl,
    BUS_PREFIX: settings.busPrefix,
  });
  if (settings.secretsKeys !== undefined) env.SECRETS_KEYS = settings.secretsKeys;
  if (settings.logLevel !== undefined) env.LOG_LEVEL = settings.logLevel;
  return env;
}

