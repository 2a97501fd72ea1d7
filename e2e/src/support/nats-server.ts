import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@flotilla/messaging/testing';
import { NatsNode } from './nats-cluster.js';

/**
 * A single nats-server with JetStream on free ports and a store directory of its own, so a test
 * can kill and restart it (same ports, same store) without touching the machine's NATS.
 */
export class StandaloneNats extends NatsNode {
  private constructor(
    private readonly storeRoot: string,
    client: number,
    monitor: number,
  ) {
    super('standalone', { client, route: 0, monitor }, ['-js', '-a', '127.0.0.1', '-p', String(client), '-m', String(monitor), '-sd', join(storeRoot, 'store')], join(storeRoot, 'nats.log'));
  }

  static async start(): Promise<StandaloneNats> {
    const client = await freePort();
    let monitor = await freePort();
    while (monitor === client) monitor = await freePort();
    const server = new StandaloneNats(mkdtempSync(join(tmpdir(), 'flotilla-nats-')), client, monitor);
    server.start();
    await server.healthy();
    return server;
  }

  /** Stops the server and removes its store. */
  override async stop(): Promise<void> {
    await super.stop();
    rmSync(this.storeRoot, { recursive: true, force: true });
  }
}
