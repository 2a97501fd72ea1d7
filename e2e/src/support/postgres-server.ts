import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@flotilla/messaging/testing';

const run = promisify(execFile);
const root = new URL('../../../../', import.meta.url);

interface PostgresPrograms {
  dir: string;
  initdb: string;
  pgCtl?: string;
}
interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home?: string;
}

/** The launcher's search for PostgreSQL's programs and its reading of /etc/passwd (tools/start-lib), shared rather than copied. */
async function launcherHelpers(): Promise<{ findPostgres: (options: { pathEnv?: string }) => PostgresPrograms | undefined; findPasswdEntry: (passwd: string, name: string) => PasswdEntry | undefined }> {
  const binaries = (await import(new URL('tools/start-lib/binaries.mjs', root).href)) as { findPostgres: (options: { pathEnv?: string }) => PostgresPrograms | undefined };
  const posix = (await import(new URL('tools/start-lib/posix.mjs', root).href)) as { findPasswdEntry: (passwd: string, name: string) => PasswdEntry | undefined };
  return { findPostgres: binaries.findPostgres, findPasswdEntry: posix.findPasswdEntry };
}

/**
 * A PostgreSQL server of its own (initdb + pg_ctl from the installed server programs, found as
 * `npm start` finds them), with its data in a temporary directory and its own port, so a test can
 * crash and restart it without touching the machine's PostgreSQL. As root it runs as the
 * `postgres` user, since postgres refuses root.
 */
export class PostgresServer {
  private constructor(
    private readonly pgCtl: string,
    private readonly dataDir: string,
    private readonly workDir: string,
    readonly port: number,
    private readonly owner: PasswdEntry | undefined,
  ) {}

  /** The maintenance database's URL (trust authentication, user postgres). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get logFile(): string {
    return join(this.workDir, 'postgres.log');
  }

  static async start(settings: Record<string, string> = {}): Promise<PostgresServer> {
    const { findPostgres, findPasswdEntry } = await launcherHelpers();
    const programs = findPostgres({ pathEnv: process.env['PATH'] });
    if (!programs?.pgCtl) throw new Error('no PostgreSQL server programs (initdb, pg_ctl) found on PATH or under /usr/lib/postgresql');
    const owner = process.getuid?.() === 0 ? findPasswdEntry(existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '', 'postgres') : undefined;
    if (process.getuid?.() === 0 && !owner) throw new Error('running as root needs a postgres user to run PostgreSQL as');
    const workDir = mkdtempSync(join(tmpdir(), 'flotilla-pg-'));
    const dataDir = join(workDir, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    chmodSync(workDir, 0o711);
    if (owner) {
      chownSync(workDir, owner.uid, owner.gid);
      chownSync(dataDir, owner.uid, owner.gid);
    }
    const server = new PostgresServer(programs.pgCtl, dataDir, workDir, await freePort(), owner);
    await server.as(join(programs.dir, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8']);
    const conf = {
      port: String(server.port),
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: "''",
      max_connections: '400',
      // A crash here is a killed process, never a lost machine: the kernel keeps what was written.
      fsync: 'off',
      ...settings,
    };
    await appendFile(join(dataDir, 'postgresql.conf'), Object.entries(conf).map(([key, value]) => `${key} = ${value}\n`).join(''));
    await server.startServer();
    return server;
  }

  /** Starts the server on its data directory and waits until it accepts connections. */
  async startServer(): Promise<void> {
    await this.as(this.pgCtl, ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '120', 'start']);
  }

  /** Immediate shutdown: every backend killed, no checkpoint; the next start recovers from the WAL, as after a crash. */
  async crash(): Promise<void> {
    await this.as(this.pgCtl, ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  /** Stops the server (fast shutdown) and removes its data. */
  async stop(): Promise<void> {
    await this.as(this.pgCtl, ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
    rmSync(this.workDir, { recursive: true, force: true });
  }

  /** The last lines of the server's log. */
  logTail(lines = 20): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
  }

  private async as(file: string, args: string[]): Promise<void> {
    const ids = this.owner ? { uid: this.owner.uid, gid: this.owner.gid } : {};
    const env = this.owner ? { ...process.env, HOME: this.workDir, USER: this.owner.name, LOGNAME: this.owner.name } : process.env;
    try {
      await run(file, args, { cwd: this.workDir, env, ...ids });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`${file} ${args.join(' ')} failed: ${`${stdout}${stderr}`.trim()}\n${this.logTail()}`, { cause: error });
    }
  }
}
