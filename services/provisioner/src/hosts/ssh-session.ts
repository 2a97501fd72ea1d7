import ssh2, { type Client, type ClientChannel } from 'ssh2';
import { decideHostKey, sshFingerprint } from './host-key-policy.js';
import { SshError } from './ssh-errors.js';

/** Where to connect. The private key is passed separately, only for the time of the connection. */
export interface SshTarget {
  address: string;
  port: number;
  user: string;
  /** When set, the host's key must have this fingerprint (`SHA256:...`). */
  expectedHostKey?: string | null;
}

/** The host keys seen before, one per address and port (trust on first use). */
export interface HostKeyPins {
  pinned(address: string, port: number): Promise<string | null>;
  /** Records a key for a host that has none; returns the one now recorded (another caller's if it won). */
  pin(address: string, port: number, fingerprint: string): Promise<string>;
  /**
   * Records the key as the identity of the host a cluster owns at this address; answers the
   * host (another address, its cluster) that already holds the key: the same machine.
   */
  ownerOfKey(address: string, port: number, fingerprint: string): Promise<HostKeyHolder | null>;
}

/** An owned host known by a host key. */
export interface HostKeyHolder {
  address: string;
  port: number;
  clusterId: string;
}

export interface CommandResult {
  exitCode: number;
  /** stdout and stderr together, in the order they arrived. */
  output: string;
}

export interface SshTimeouts {
  connectMs: number;
  commandMs: number;
}

export const DEFAULT_SSH_TIMEOUTS: SshTimeouts = { connectMs: 15_000, commandMs: 15 * 60_000 };

export function describeTarget(target: SshTarget): string {
  return `${target.user}@${target.address}:${target.port}`;
}

interface ConnectError extends Error {
  code?: string;
  level?: string;
}

/** An open SSH connection to one host. */
export class SshSession {
  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    private readonly timeouts: SshTimeouts,
  ) {}

  /**
   * Connects with a private key, checking the host key against its pin. Every failure is an
   * SshError naming the host; neither the key nor its passphrase ever appears in one.
   */
  static async connect(target: SshTarget, privateKey: Buffer, pins: HostKeyPins, timeouts: SshTimeouts = DEFAULT_SSH_TIMEOUTS): Promise<SshSession> {
    const where = describeTarget(target);
    const pinned = await pins.pinned(target.address, target.port);
    // Set from ssh2's callbacks during the handshake.
    const seen: { hostKey: string | null; refused: SshError | null } = { hostKey: null, refused: null };
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (error: ConnectError) => reject(seen.refused ?? classifyConnectError(where, error)));
      client.once('close', () => reject(seen.refused ?? new SshError('connection-lost', where, 'closed during the handshake')));
      try {
        client.connect({
          host: target.address,
          port: target.port,
          username: target.user,
          privateKey,
          readyTimeout: timeouts.connectMs,
          keepaliveInterval: 15_000,
          hostVerifier: (key: Buffer): boolean => {
            seen.hostKey = sshFingerprint(key);
            const decision = decideHostKey(seen.hostKey, pinned, target.expectedHostKey ?? null);
            if (!decision.accept) seen.refused = new SshError(decision.code, where, decision.detail);
            return decision.accept;
          },
        });
      } catch {
        // ssh2 throws synchronously for a key it cannot parse; its message is not passed on.
        reject(new SshError('key-invalid', where));
      }
    });
    try {
      await SshSession.checkIdentity(target, where, seen.hostKey, pinned, pins);
    } catch (error) {
      // Refused, or the records could not be read: the connection goes too (it would keep the process alive).
      client.end();
      throw error;
    }
    // Later connection errors end the running command through its channel's close.
    client.on('error', () => undefined);
    return new SshSession(client, target, timeouts);
  }

  /**
   * After the handshake: the key is pinned once the host proved it holds it (the handshake's
   * signature), and it must not be the key of a host another cluster owns.
   */
  private static async checkIdentity(target: SshTarget, where: string, presented: string | null, pinned: string | null, pins: HostKeyPins): Promise<void> {
    if (presented === null) return;
    if (pinned === null) {
      const recorded = await pins.pin(target.address, target.port, presented);
      if (recorded !== presented) throw new SshError('host-key-changed', where, `pinned ${recorded}, the host presented ${presented}`);
    }
    const holder = await pins.ownerOfKey(target.address, target.port, presented);
    if (holder) {
      throw new SshError('host-in-another-cluster', where, `it presents the host key of ${holder.address}:${holder.port}, a host of cluster "${holder.clusterId}": one machine under two addresses is one host`);
    }
  }

  /** Runs one command (through the login shell), with optional standard input. */
  async run(command: string, stdin?: string | Buffer): Promise<CommandResult> {
    const where = describeTarget(this.target);
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.exec(command, (error, stream) => (error ? reject(new SshError('connection-lost', where, error.message)) : resolve(stream)));
    });
    return new Promise<CommandResult>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let exitCode: number | null = null;
      const timer = setTimeout(() => {
        channel.close();
        reject(new SshError('timeout', where, `command did not finish in ${this.timeouts.commandMs} ms`));
      }, this.timeouts.commandMs);
      channel.on('data', (chunk: Buffer) => chunks.push(chunk));
      channel.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
      channel.on('exit', (code: number | null) => {
        exitCode = code;
      });
      channel.on('close', () => {
        clearTimeout(timer);
        if (exitCode === null) reject(new SshError('connection-lost', where, 'the command ended without an exit status'));
        else resolve({ exitCode, output: Buffer.concat(chunks).toString('utf8') });
      });
      channel.end(stdin);
    });
  }

  close(): void {
    this.client.end();
  }
}

function classifyConnectError(where: string, error: ConnectError): SshError {
  if (error.level === 'client-authentication') return new SshError('auth-failed', where, 'publickey authentication was refused');
  if (error.level === 'client-timeout') return new SshError('timeout', where, 'no SSH handshake in time');
  switch (error.code) {
    case 'ECONNREFUSED':
      return new SshError('unreachable', where, 'connection refused');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new SshError('unreachable', where, 'the name does not resolve');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new SshError('unreachable', where, 'no route to the host');
    case 'ETIMEDOUT':
      return new SshError('timeout', where, 'connect timed out');
    case 'ECONNRESET':
      return new SshError('connection-lost', where, 'connection reset');
    default:
      return new SshError('connection-lost', where, error.code ?? 'handshake failed');
  }
}
