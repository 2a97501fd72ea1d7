// NATS and PostgreSQL for `npm start`: probe what answers, and when nothing does and the programs
// are installed, run them with their data under .data/. Everything here touches the machine; the
// decisions it relies on are in the pure modules next to it.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { findNatsServer, findPostgres, postgresMajor } from './binaries.mjs';
import { isLoopback, nonEmpty, quoteIdentifier, redactUrl, withDatabase } from './env.mjs';
import { ancestors, canTraverse, findPasswdEntry, firstUntraversable, userNameOf } from './posix.mjs';
import { missingMessage } from './summary.mjs';

/** An error whose message is meant for people as it is (no stack trace). */
export class LaunchError extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The bus and database clients are dependencies of the libs, not of the root package: resolve them
 * from libs/messaging, where npm installs them whether or not it hoists them.
 */
export function workspaceRequire(root) {
  const anchors = [join(root, 'libs/messaging/package.json'), join(root, 'package.json')];
  return (name) => {
    for (const anchor of anchors) {
      try {
        return createRequire(anchor)(name);
      } catch (error) {
        if (error?.code !== 'MODULE_NOT_FOUND') throw error;
      }
    }
    throw new LaunchError(`cannot load ${name}: run npm ci first`);
  };
}

/** True when a TCP connection to host:port opens within the timeout. */
export function tcpAnswers(host, port, timeoutMs = 1_000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// NATS

/** Connects for real and asks JetStream for the account info; throws a readable error. */
export async function checkNats(requireFn, url) {
  const { connect } = requireFn('@nats-io/transport-node');
  const { jetstreamManager } = requireFn('@nats-io/jetstream');
  const nc = await connect({
    servers: url.split(',').map((s) => s.trim()),
    name: 'flotilla-start',
    timeout: 3_000,
    reconnect: false,
    maxReconnectAttempts: 0,
  });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 3_000, checkAPI: false });
    try {
      return await jsm.getAccountInfo();
    } catch (error) {
      const text = String(error?.message ?? error);
      if (/not enabled|503|no responders/i.test(text)) {
        throw new LaunchError(`NATS at ${redactUrl(url)} answers but JetStream is not enabled (run nats-server with -js)`);
      }
      throw error;
    }
  } finally {
    await nc.close();
  }
}

/**
 * Uses the NATS at settings.natsUrl, or starts nats-server -js with its store in .data/nats when
 * nothing answers and the address is this machine. Returns { origin, handle? }.
 */
export async function ensureNats({ settings, requireFn, dataRoot, launch, log }) {
  const url = settings.natsUrl;
  const answering = await anyAnswers(settings.nats);
  if (answering) {
    try {
      await checkNats(requireFn, url);
    } catch (error) {
      throw new LaunchError(missingMessage('nats', { url, reason: reasonOf(error) }));
    }
    return { origin: 'already running' };
  }
  if (settings.nats.length !== 1 || !isLoopback(settings.nats[0].host)) {
    throw new LaunchError(missingMessage('nats', { url, reason: 'remote' }));
  }
  const bin = findNatsServer({ pathEnv: process.env.PATH });
  if (!bin) throw new LaunchError(missingMessage('nats', { url, reason: 'not-installed' }));

  const { host, port } = settings.nats[0];
  const storeDir = join(dataRoot, 'nats');
  mkdirSync(storeDir, { recursive: true });
  log(`nothing answers at ${url}: starting ${bin} with JetStream (store: .data/nats)`);
  const handle = launch('nats', bin, ['-js', '-sd', storeDir, '-a', host === 'localhost' ? '127.0.0.1' : host, '-p', String(port)], {
    dim: true,
    // Its banner and info lines say nothing the launcher does not; warnings and errors show.
    hide: (line) => line.includes('[INF]'),
  });
  await waitFor(
    'nats-server',
    handle,
    async () => {
      await checkNats(requireFn, url);
      return true;
    },
    20_000,
  );
  return { origin: 'started by npm start, data in .data/nats', handle };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

async function pgQuery(requireFn, url, query) {
  const pg = requireFn('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  await client.connect();
  try {
    return await client.query(query);
  } finally {
    await client.end();
  }
}

/**
 * `SELECT 1` in the database of the URL; creates that database first when it is missing (error
 * 3D000), through the maintenance database `postgres`. Returns true when it created it.
 */
export async function ensureDatabase(requireFn, url, database, { viaMaintenance = false } = {}) {
  if (viaMaintenance) {
    // Our own server, where we are superuser: look first, so PostgreSQL logs no FATAL for it.
    const found = await pgQuery(requireFn, withDatabase(url, 'postgres'), {
      text: 'SELECT 1 FROM pg_database WHERE datname = $1',
      values: [database],
    });
    if (found.rowCount > 0) {
      await pgQuery(requireFn, url, 'SELECT 1');
      return false;
    }
  } else {
    try {
      await pgQuery(requireFn, url, 'SELECT 1');
      return false;
    } catch (error) {
      if (error?.code !== '3D000') throw error;
    }
  }
  try {
    await pgQuery(requireFn, withDatabase(url, 'postgres'), `CREATE DATABASE ${quoteIdentifier(database)}`);
  } catch (error) {
    // 42P04: created meanwhile by someone else, which is just as good.
    if (error?.code !== '42P04') throw error;
  }
  await pgQuery(requireFn, url, 'SELECT 1');
  return true;
}

/**
 * Uses the PostgreSQL at settings.databaseUrl, or runs initdb + postgres with the cluster in
 * .data/postgres when nothing answers and the address is this machine. Then makes sure the
 * database exists. Returns { origin, handle?, created }.
 */
export async function ensurePostgres({ settings, requireFn, dataRoot, launch, log }) {
  const url = settings.databaseUrl;
  const { host, port, user, database } = settings.database;
  let origin = 'already running';
  let handle;
  if (!(await tcpAnswers(host, port))) {
    if (!isLoopback(host)) throw new LaunchError(missingMessage('postgres', { url, reason: 'remote' }));
    const bins = findPostgres({ pathEnv: process.env.PATH });
    if (!bins) throw new LaunchError(missingMessage('postgres', { url, reason: 'not-installed' }));
    handle = await startPostgres({ bins, host, port, user, dataRoot, launch, log, requireFn, url });
    origin = 'started by npm start, data in .data/postgres';
  }
  let created;
  try {
    created = await ensureDatabase(requireFn, url, database, { viaMaintenance: handle !== undefined });
  } catch (error) {
    if (handle) throw new LaunchError(`PostgreSQL started but ${redactUrl(url)} fails: ${reasonOf(error)}`);
    throw new LaunchError(missingMessage('postgres', { url, reason: reasonOf(error) }));
  }
  if (created) log(`created database ${database}`);
  return { origin, handle, created };
}

/**
 * Who runs PostgreSQL. postgres and initdb refuse to run as root, so as root they run as the
 * owner of an existing .data/postgres (when that is not root) or as the `postgres` user, through
 * the uid/gid options of spawn (no su/runuser needed). Otherwise as the current user.
 */
function postgresUser(dataDir) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const passwd = existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '';
  if (existsSync(dataDir)) {
    const { uid, gid } = statSync(dataDir);
    if (uid !== 0) {
      const name = userNameOf(passwd, uid) ?? String(uid);
      return { name, uid, gid, home: findPasswdEntry(passwd, name)?.home };
    }
  }
  const entry = findPasswdEntry(passwd, 'postgres');
  if (!entry) {
    throw new LaunchError(
      [
        'PostgreSQL refuses to run as root, npm start runs as root, and there is no `postgres` user to run it as.',
        'Any of these fixes it:',
        '  - create the user: useradd --system --home-dir /var/lib/postgresql postgres',
        '  - run npm start as a normal user',
        '  - start PostgreSQL yourself and point DATABASE_URL at it (or: docker compose up --build)',
      ].join('\n'),
    );
  }
  return entry;
}

/** Hands a directory we made under .data/ to the PostgreSQL user (recursively when root owned it). */
function giveTo(dir, owner) {
  const walk = (path) => {
    const stat = statSync(path);
    if (stat.uid !== owner.uid || stat.gid !== owner.gid) chownSync(path, owner.uid, owner.gid);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
}

function runSync(file, args, options) {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new LaunchError(`${file} ${args.join(' ')} failed${output ? `:\n${output}` : ''}`);
  }
}

async function startPostgres({ bins, host, port, user, dataRoot, launch, log, requireFn, url }) {
  const dataDir = join(dataRoot, 'postgres');
  const socketDir = join(dataRoot, 'postgres-socket');
  const owner = postgresUser(dataDir);
  const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const env = owner ? { ...process.env, HOME: owner.home || dataRoot, USER: owner.name, LOGNAME: owner.name } : process.env;

  if (owner) {
    // Before creating anything: every directory down to the checkout must let that user in.
    const chain = ancestors(dirname(dataRoot)).map((path) => ({ path, stat: statSync(path) }));
    const blocked = firstUntraversable(chain, { uid: owner.uid, groups: [owner.gid] });
    if (blocked) {
      throw new LaunchError(
        [
          `PostgreSQL refuses to run as root, so npm start runs it as the ${owner.name} user, who cannot enter ${blocked}.`,
          `Any of these fixes it: chmod o+x ${blocked}; move the checkout somewhere ${owner.name} can read;`,
          'run npm start as a normal user; or start PostgreSQL yourself and point DATABASE_URL at it.',
        ].join('\n'),
      );
    }
  }

  mkdirSync(dataRoot, { recursive: true });
  if (owner && !canTraverse(statSync(dataRoot), { uid: owner.uid, groups: [owner.gid] })) {
    // .data is ours: let the PostgreSQL user through to its own directories.
    chmodSync(dataRoot, (statSync(dataRoot).mode & 0o7777) | 0o011);
  }
  for (const dir of [dataDir, socketDir]) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o700);
    if (owner) giveTo(dir, owner);
  }
  const version = postgresMajor(runSync(bins.postgres, ['--version'], { cwd: dataRoot, env, ...ids }));
  const versionFile = join(dataDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const made = readFileSync(versionFile, 'utf8').trim();
    if (version && made !== version) {
      throw new LaunchError(
        `.data/postgres was made by PostgreSQL ${made}, but the server found is ${version} (${bins.postgres}). ` +
          'Remove .data/postgres (its local data is lost) or put PostgreSQL ' + made + ' first on PATH.',
      );
    }
  } else {
    log(`initialising a PostgreSQL ${version ?? ''} cluster in .data/postgres${owner ? ` as the ${owner.name} user` : ''}`);
    runSync(bins.initdb, ['-D', dataDir, '-U', user, '--auth=trust', '--no-locale', '-E', 'UTF8'], { cwd: dataRoot, env, ...ids });
  }

  // A Unix socket path is limited to 107 bytes; past that, TCP only.
  const socketOk = Buffer.byteLength(join(socketDir, `.s.PGSQL.${port}`)) < 104;
  log(`nothing answers at ${host}:${port}: starting ${bins.postgres}${owner ? ` as the ${owner.name} user (postgres refuses root)` : ''}`);
  let accepting = false;
  const handle = launch('postgres', bins.postgres, ['-D', dataDir, '-p', String(port), '-h', host, '-k', socketOk ? socketDir : ''], {
    dim: true,
    // Routine LOG lines are hidden; WARNING, ERROR, FATAL and PANIC show.
    hide: (line) => /\bLOG: /.test(line),
    // Connecting before this line only makes it log "the database system is starting up".
    onLine: (line) => {
      if (line.includes('ready to accept connections')) accepting = true;
    },
    env,
    cwd: dataRoot,
    ...ids,
    // SIGINT is PostgreSQL's fast shutdown: disconnect clients, checkpoint, exit.
    stopSignal: 'SIGINT',
    stopTimeoutMs: 30_000,
  });
  await waitFor(
    'postgres',
    handle,
    async () => {
      if (!accepting) return false;
      await pgQuery(requireFn, withDatabase(url, 'postgres'), 'SELECT 1');
      return true;
    },
    30_000,
  );
  return handle;
}

// ---------------------------------------------------------------------------------------------

async function anyAnswers(servers) {
  const results = await Promise.all(servers.map(({ host, port }) => tcpAnswers(host, port)));
  return results.some(Boolean);
}

/** Polls `check` until it returns true; fails when the process exits first or time runs out. */
export async function waitFor(what, handle, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (handle?.exited) throw new LaunchError(`${what} exited (${describeExit(handle.exited)}) before it was ready; its output is above`);
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof LaunchError) throw error;
      lastError = error;
    }
    await sleep(250);
  }
  throw new LaunchError(`${what} was not ready after ${Math.round(timeoutMs / 1000)} s${lastError ? `: ${reasonOf(lastError)}` : ''}`);
}

export function describeExit({ code, signal }) {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

export function reasonOf(error) {
  if (error instanceof AggregateError && error.errors?.length) return error.errors.map(reasonOf).join('; ');
  return String(error?.message || error?.code || error);
}

/**
 * The key-encryption keys of a local run: SECRETS_KEYS when set, else a key made on first start
 * and kept (0600) under the data folder, so secrets stored by one run open in the next.
 */
export function localSecretsKeys(env, dataRoot) {
  const given = nonEmpty(env.SECRETS_KEYS);
  if (given !== undefined) return { keys: given, origin: 'SECRETS_KEYS' };
  const file = join(dataRoot, 'secrets-keys');
  if (existsSync(file)) return { keys: readFileSync(file, 'utf8').trim(), origin: file };
  mkdirSync(dataRoot, { recursive: true });
  const keys = `local-${new Date().toISOString().slice(0, 10)}:${randomBytes(32).toString('base64')}`;
  writeFileSync(file, `${keys}\n`, { mode: 0o600 });
  return { keys, origin: `${file} (new)` };
}
