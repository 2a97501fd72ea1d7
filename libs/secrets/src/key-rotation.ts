import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { KeyRing } from './keyring.js';
import { SECRETS_KEYRING, SecretStore } from './secret-store.js';

export interface KeyRotationSettings {
  /** Pause between rounds once nothing is left under an old key (and after a failure, doubled up to 5 min). */
  intervalMs: number;
  /** Secrets re-wrapped per transaction. */
  batchSize: number;
}

export const KEY_ROTATION_SETTINGS = Symbol('KeyRotationSettings');
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Moves every secret to the primary key in the background, batch after batch, while the service
 * keeps serving (both keys open secrets meanwhile): rotating a key needs no downtime. Replicas
 * share the work (SKIP LOCKED). Logs when only the primary is left, so the old key can go.
 */
@Injectable()
export class KeyRotation implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KeyRotation.name);
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    @Inject(SecretStore) private readonly store: SecretStore,
    @Inject(SECRETS_KEYRING) private readonly keys: KeyRing,
    @Inject(KEY_ROTATION_SETTINGS) private readonly settings: KeyRotationSettings,
  ) {}

  onApplicationBootstrap(): void {
    // With one key there is nothing to rotate to it from that this ring could open.
    if (this.keys.ids.length < 2 || this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  /** Re-wraps until nothing is left under an old key (or the service stops); returns how many moved. */
  async rotateAll(): Promise<number> {
    let moved = 0;
    for (;;) {
      const batch = await this.store.rewrapBatch(this.settings.batchSize);
      moved += batch;
      if (batch === 0 || !this.running) return moved;
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const moved = await this.rotateAll();
        failures = 0;
        if (moved > 0) await this.report(moved);
      } catch (error) {
        failures += 1;
        this.logger.warn({ msg: 'secret key rotation round failed; will retry', error: error instanceof Error ? error.message : String(error), failures });
      }
      if (!this.running) break;
      const delay = failures > 0 ? Math.min(MAX_BACKOFF_MS, this.settings.intervalMs * 2 ** Math.min(failures, 10)) : this.settings.intervalMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async report(moved: number): Promise<void> {
    const counts = await this.store.countByKek();
    const left = Object.entries(counts).filter(([id]) => id !== this.keys.primaryId);
    if (left.length === 0) {
      this.logger.log({ msg: `re-wrapped ${moved} secrets: every secret is under key "${this.keys.primaryId}"; the other keys can be removed from SECRETS_KEYS`, counts });
    } else {
      this.logger.warn({ msg: `re-wrapped ${moved} secrets; some remain under other keys (locked by another replica, or under a key SECRETS_KEYS no longer lists)`, counts });
    }
  }
}
