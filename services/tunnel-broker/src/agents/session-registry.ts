import { Logger } from '@nestjs/common';
import { tunnelSessionsBucketName, type BusNaming } from '@flotilla/contracts';
import { bucketPlacement, explainLayoutRefusal, type BusConnection, type StreamLayout } from '@flotilla/messaging';
import { Kvm, type KV } from '@nats-io/kv';

/** Where a cluster's agent is held: the replica and the URL requests for it are forwarded to. */
export interface SessionLocation {
  replicaId: string;
  url: string;
  since: string;
}

const SESSIONS = 'sessions.';
const STOPS = 'stops.';
const REWATCH_DELAY_MS = 1_000;

/**
 * The broker replicas' shared registry, a JetStream key-value bucket (`<prefix>_tunnel_sessions`):
 * `sessions.<cluster>` names the replica holding the cluster's agent, so a request arriving at any
 * replica is forwarded to that one (no replica talks to all the others); `stops.<cluster>` tells
 * whichever replica holds a removed cluster's agent to stop it.
 */
export class SessionRegistry {
  private readonly logger = new Logger(SessionRegistry.name);
  private stopped = false;

  private constructor(private readonly kv: KV) {}

  /** `layout`: the bucket's replicas and placement when this call creates it (BUS_REPLICAS, BUS_PLACEMENT_*). */
  static async open(bus: BusConnection, naming: BusNaming, layout: StreamLayout = { replicas: 1 }): Promise<SessionRegistry> {
    const name = tunnelSessionsBucketName(naming);
    const kv = await new Kvm(bus.nc).create(name, { history: 1, replicas: layout.replicas, ...bucketPlacement(layout) }).catch((error: unknown) => {
      throw explainLayoutRefusal(error, `key-value bucket ${name}`, layout);
    });
    return new SessionRegistry(kv);
  }

  async locate(clusterId: string): Promise<SessionLocation | undefined> {
    const entry = await this.kv.get(`${SESSIONS}${clusterId}`);
    return entry?.operation === 'PUT' ? entry.json<SessionLocation>() : undefined;
  }

  async claim(clusterId: string, location: SessionLocation): Promise<void> {
    await this.kv.put(`${SESSIONS}${clusterId}`, JSON.stringify(location));
  }

  /** Forgets where the agent was, unless another replica has claimed it since. */
  async release(clusterId: string, replicaId: string): Promise<void> {
    const entry = await this.kv.get(`${SESSIONS}${clusterId}`);
    if (entry?.operation !== 'PUT' || entry.json<SessionLocation>().replicaId !== replicaId) return;
    try {
      await this.kv.delete(`${SESSIONS}${clusterId}`, { previousSeq: entry.revision });
    } catch {
      // Claimed by another replica in between: theirs now.
    }
  }

  /** Asks the replica holding the cluster's agent (whichever it is) to stop it. */
  async requestStop(clusterId: string): Promise<void> {
    await this.kv.put(`${STOPS}${clusterId}`, JSON.stringify({ at: new Date().toISOString() }));
  }

  /** Calls `onStop` for every stop asked from now on, for as long as the service runs. */
  async watchStops(onStop: (clusterId: string) => void): Promise<{ stop(): void }> {
    let watcher = await this.kv.watch({ key: `${STOPS}>`, include: 'updates' });
    let lastRevision = 0;
    const follow = async (): Promise<void> => {
      while (!this.stopped) {
        try {
          for await (const entry of watcher) {
            lastRevision = entry.revision;
            if (entry.operation === 'PUT') onStop(entry.key.slice(STOPS.length));
          }
        } catch (error) {
          this.logger.warn({ msg: 'stop notices watch failed', err: error });
        }
        if (this.stopped) return;
        await new Promise((resolve) => setTimeout(resolve, REWATCH_DELAY_MS));
        try {
          watcher = await this.kv.watch({ key: `${STOPS}>`, ...(lastRevision > 0 ? { resumeFromRevision: lastRevision + 1 } : { include: 'updates' as const }) });
        } catch (error) {
          this.logger.warn({ msg: 'stop notices watch could not be opened again', err: error });
        }
      }
    };
    void follow();
    return {
      stop: () => {
        this.stopped = true;
        watcher.stop();
      },
    };
  }
}
