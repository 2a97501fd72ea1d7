import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@flotilla/messaging/testing';

const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

/** A nats-server of the test's own, so it can be stopped and started again (with JetStream unless told otherwise). */
export class OwnNats {
  private process: ChildProcess | undefined;
  private readonly store = mkdtempSync(join(tmpdir(), 'flotilla-nats-'));
  constructor(readonly port: number) {}
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  async start(options: { jetStream?: boolean } = {}): Promise<void> {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) return;
    const jetStream = options.jetStream === false ? [] : ['-js', '-sd', this.store];
    this.process = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(this.port), ...jetStream], { stdio: 'ignore' });
    await eventually(async () => new Promise<true | undefined>((resolve) => {
      const socket = tcpConnect(this.port, '127.0.0.1', () => { socket.end(); resolve(true); }).on('error', () => resolve(undefined));
    }), 10_000, 'nats-server to listen');
  }
  async stop(): Promise<void> {
    if (!this.process || this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.kill('SIGTERM');
    await once(this.process, 'exit');
  }
  cleanUp(): void {
    rmSync(this.store, { recursive: true, force: true });
  }
}
