import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { SUPPORT_MATRIX_BUCKET_KEYS, supportMatrixBucketName, type BusNaming } from '@flotilla/contracts';
import type { BusConnection } from '@flotilla/messaging';
import { Kvm, KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { applyPolicyEntry, SHIPPED_POLICY, type PolicyEntry, type PolicySnapshot, type RejectedPolicyEntry } from './policy-state.js';

const REWATCH_DELAY_MS = 1_000;
/** Backoff after failed attempts to read the bucket (a JetStream API that does not answer): doubling up to this. */
const MAX_RETRY_DELAY_MS = 30_000;
/** How often to look again for a bucket that does not exist yet (the planner creates it). */
/** Short: until the planner has made the bucket, this service judges by the shipped policy. */
const MISSING_BUCKET_RETRY_MS = 250;
/**
 * How long a start waits for the bucket's history to be replayed. Past it, the service starts
 * with the policy replayed so far (the shipped one at worst), as when the bucket cannot be read,
 * and the watch goes on: a service that never starts judges nothing at all.
 */
const REPLAY_PATIENCE_MS = 15_000;
/** JetStream "key exists" / "wrong last sequence": someone else wrote the key first. */
const WRONG_LAST_SEQUENCE = 10071;
const STREAM_NOT_FOUND = 10059;

export interface PolicyInForceOptions {
  naming: BusNaming;
  /** Defaults to `<prefix>_support_matrix`. */
  bucket?: string;
  /** How long a start waits for the bucket's history (`REPLAY_PATIENCE_MS` unless given). */
  replayPatienceMs?: number;
}

/**
 * The version policy in force, shared by every service: the support-matrix revision and the
 * platform release of the global cluster, read from the support-matrix bucket the upgrade planner
 * writes, and followed as it changes (a new revision reaches every service within the time NATS
 * takes to deliver it). The bucket's whole history is replayed through one fold
 * (applyPolicyEntry), so every service and replica holds the same revision. Until the bucket
 * holds a revision (or exists at all), the shipped matrix and release are in force, and the
 * snapshot says so (`matrixSource: 'shipped'`).
 */
@Injectable()
export class PolicyInForce implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('PolicyInForce');
  private snapshot: PolicySnapshot = SHIPPED_POLICY;
  private lastSequence = 0;
  private rejected: RejectedPolicyEntry | null = null;
  private readonly listeners = new Set<(snapshot: PolicySnapshot) => void>();
  private kv: KV | undefined;
  private stopped = false;
  private stopWatch: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  readonly bucket: string;
  private readonly replayPatienceMs: number;

  constructor(
    private readonly bus: Pick<BusConnection, 'nc'>,
    options: PolicyInForceOptions,
  ) {
    this.bucket = options.bucket ?? supportMatrixBucketName(options.naming);
    this.replayPatienceMs = options.replayPatienceMs ?? REPLAY_PATIENCE_MS;
  }

  /**
   * The bucket, bound and never created: only the planner makes it (and has the right to). Bound
   * when first needed, inside the code that handles its failures, and kept once bound.
   */
  private async openBucket(): Promise<KV> {
    return (this.kv ??= await new Kvm(this.bus.nc).open(this.bucket));
  }

  /** The policy every decision of this process is made under right now. */
  current(): PolicySnapshot {
    return this.snapshot;
  }

  /** The last bucket entry that was refused, if any. */
  lastRejected(): RejectedPolicyEntry | null {
    return this.rejected;
  }

  /** Called with the new snapshot whenever the matrix or the release in force changes. */
  onChange(listener: (snapshot: PolicySnapshot) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Nest may call init hooks from the HTTP app and from the event transport: run once.
  onModuleInit(): Promise<void> {
    return (this.starting ??= this.start());
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
  }

  /**
   * Writes the platform release under `platform-release` (the planner's API does, after checking
   * it against the matrix in force). `onlyIfAbsent` seeds a first value without overwriting one.
   * Returns false when `onlyIfAbsent` found a value already there.
   */
  async putRelease(release: string, options: { onlyIfAbsent?: boolean } = {}): Promise<boolean> {
    const kv = await this.openBucket();
    const text = JSON.stringify({ release });
    if (!options.onlyIfAbsent) {
      this.applyEntry({ key: SUPPORT_MATRIX_BUCKET_KEYS.platformRelease, sequence: await kv.put(SUPPORT_MATRIX_BUCKET_KEYS.platformRelease, text), publishedAt: new Date().toISOString(), operation: 'put', text });
      return true;
    }
    try {
      const sequence = await kv.create(SUPPORT_MATRIX_BUCKET_KEYS.platformRelease, text);
      this.applyEntry({ key: SUPPORT_MATRIX_BUCKET_KEYS.platformRelease, sequence, publishedAt: new Date().toISOString(), operation: 'put', text });
      return true;
    } catch (error) {
      if (isKeyExists(error)) return false;
      throw error;
    }
  }

  private async start(): Promise<void> {
    let initialised!: () => void;
    const ready = new Promise<void>((resolve) => (initialised = resolve));
    void this.follow(initialised);
    let patience: NodeJS.Timeout | undefined;
    const impatient = new Promise<void>((resolve) => {
      patience = setTimeout(() => {
        this.logger.warn({ msg: 'support-matrix bucket not replayed yet: starting with the policy in force so far; the watch goes on', bucket: this.bucket, afterMs: this.replayPatienceMs, revision: this.snapshot.matrix.revision, release: this.snapshot.release });
        resolve();
      }, this.replayPatienceMs);
    });
    await Promise.race([ready, impatient]);
    clearTimeout(patience);
    const { matrix, matrixSource, release, releaseSource } = this.snapshot;
    this.logger.log({ msg: 'version policy in force', bucket: this.bucket, revision: matrix.revision, matrixSource, release, releaseSource });
  }

  /**
   * Replays the bucket's history, then follows it. A watch that ends (the client gives up
   * re-creating its consumer after a long outage) is opened again where it stopped; a bucket that
   * does not exist yet is looked for again until it does. When reading it fails (a JetStream API
   * that times out, as while the bucket is being created at three replicas), the policy in force
   * stays and the watch is tried again with backoff; the failure is logged once, and so is the
   * recovery.
   */
  private async follow(initialised: () => void): Promise<void> {
    let announcedMissing = false;
    let failures = 0;
    while (!this.stopped) {
      let delay = REWATCH_DELAY_MS;
      try {
        const kv = await this.openBucket();
        const status = await kv.status().catch((error: unknown) => {
          if (isStreamNotFound(error)) return undefined;
          throw error;
        });
        const recovered = (): void => {
          if (failures > 0) this.logger.log({ msg: 'support-matrix bucket read again after failures', bucket: this.bucket, failures });
          failures = 0;
        };
        if (!status) {
          recovered();
          if (!announcedMissing) this.logger.warn({ msg: 'support-matrix bucket does not exist yet: the shipped matrix and release are in force until the upgrade planner creates it', bucket: this.bucket, revision: this.snapshot.matrix.revision, release: this.snapshot.release });
          announcedMissing = true;
          initialised();
          delay = MISSING_BUCKET_RETRY_MS;
        } else {
          if (status.values === 0) initialised();
          const watcher = await kv.watch({ key: '>', include: KvWatchInclude.AllHistory, ...(this.lastSequence > 0 ? { resumeFromRevision: this.lastSequence + 1 } : {}) });
          recovered();
          this.stopWatch = () => watcher.stop();
          if (this.stopped) watcher.stop();
          for await (const entry of watcher) {
            this.applyEntry(toPolicyEntry(entry));
            if (entry.delta === 0) initialised();
          }
        }
      } catch (error) {
        failures++;
        if (failures === 1) this.logger.warn({ msg: 'support-matrix bucket cannot be read or watched; the policy in force stays, retrying with backoff', bucket: this.bucket, revision: this.snapshot.matrix.revision, err: error });
        delay = Math.min(MAX_RETRY_DELAY_MS, REWATCH_DELAY_MS * 2 ** (failures - 1));
        initialised();
      }
      if (this.stopped) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** One entry, in sequence order; the watch and putRelease() may both bring the same one. */
  applyEntry(entry: PolicyEntry): void {
    if (entry.sequence <= this.lastSequence) return;
    this.lastSequence = entry.sequence;
    const previous = this.snapshot;
    const fold = applyPolicyEntry(previous, entry, SUPPORT_MATRIX_BUCKET_KEYS);
    if (fold.rejected) {
      this.rejected = fold.rejected;
      this.logger.error({
        msg: 'entry of the support-matrix bucket refused; the policy in force stays',
        key: entry.key,
        sequence: entry.sequence,
        revision: previous.matrix.revision,
        problems: fold.rejected.problems.map((p) => `${p.field}: ${p.message}`),
      });
      return;
    }
    this.snapshot = fold.snapshot;
    if (previous.matrix.revision === fold.snapshot.matrix.revision && previous.release === fold.snapshot.release) return;
    this.logger.log({ msg: 'version policy in force changed', from: `${previous.release}@${previous.matrix.revision}`, to: `${fold.snapshot.release}@${fold.snapshot.matrix.revision}`, sequence: entry.sequence });
    for (const listener of this.listeners) listener(fold.snapshot);
  }
}

function toPolicyEntry(entry: KvEntry): PolicyEntry {
  return { key: entry.key, sequence: entry.revision, publishedAt: entry.created.toISOString(), operation: entry.operation === 'PUT' ? 'put' : 'delete', text: entry.operation === 'PUT' ? entry.string() : '' };
}

/** The bucket's stream does not exist (JetStream API 404, `stream not found`). */
function isStreamNotFound(error: unknown): boolean {
  // JetStreamApiError (its `status` is the API's code, `code` the JetStream error code); not imported: @nats-io/jetstream is not this lib's dependency.
  const apiError = error as { status?: unknown; code?: unknown } | null;
  return apiError?.status === 404 || apiError?.code === STREAM_NOT_FOUND;
}

function isKeyExists(error: unknown): boolean {
  const apiError = (error as { api_error?: { err_code?: number } } | null)?.api_error;
  return apiError?.err_code === WRONG_LAST_SEQUENCE || /wrong last sequence|key exists/i.test((error as Error | null)?.message ?? '');
}
