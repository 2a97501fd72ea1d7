import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { defaultSupportMatrix, serializeSupportMatrix } from '@flotilla/contracts';
import { judgeMatrixDocument, judgeMatrixText, type MatrixInForce, type MatrixProblem } from '../domain/support-matrix-revision.js';
import { SupportMatrixBucket, type BucketEntry, type BucketWatch } from '../repositories/support-matrix.bucket.js';

export interface RejectedRevision {
  sequence: number;
  publishedAt: string;
  /** The revision the document claimed, when it got that far. */
  claimedRevision: string | null;
  problems: MatrixProblem[];
}

export type PublishResult = { ok: true; unchanged: boolean; inForce: MatrixInForce } | { ok: false; problems: MatrixProblem[]; reason: string };

const SHIPPED: MatrixInForce = { matrix: defaultSupportMatrix, source: 'shipped', sequence: 0, publishedAt: null };

/**
 * The support-matrix revision in force in this process. Starts with the shipped document, then
 * replays the bucket's history and follows it: every replica applies the same entries in the same
 * order with the same rule (judgeMatrixDocument), so they agree on the revision in force. A bad
 * entry is refused and logged, and the last good revision stays.
 */
@Injectable()
export class SupportMatrixStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(SupportMatrixStore.name);
  private current: MatrixInForce = SHIPPED;
  private lastSeen = 0;
  private rejected: RejectedRevision | null = null;
  private readonly listeners = new Set<(inForce: MatrixInForce) => void>();
  private watch: BucketWatch | undefined;
  private starting: Promise<void> | undefined;

  constructor(@Inject(SupportMatrixBucket) private readonly bucket: SupportMatrixBucket) {}

  // Nest may call init hooks from the HTTP app and from the event transport: run once.
  onModuleInit(): Promise<void> {
    return (this.starting ??= this.start());
  }

  private async start(): Promise<void> {
    await this.bucket.ensure();
    this.watch = await this.bucket.watch(
      (entry) => this.apply(entry),
      (error) => this.logger.error({ msg: 'support-matrix bucket watch failed', bucket: this.bucket.bucket, error: String(error) }),
    );
    this.logger.log({ msg: 'support matrix in force', revision: this.current.matrix.revision, source: this.current.source, sequence: this.current.sequence });
  }

  async onModuleDestroy(): Promise<void> {
    const watch = this.watch;
    this.watch = undefined;
    await watch?.stop();
  }

  inForce(): MatrixInForce {
    return this.current;
  }

  lastRejected(): RejectedRevision | null {
    return this.rejected;
  }

  get bucketName(): string {
    return this.bucket.bucket;
  }

  /** Called with the new revision whenever the revision in force changes. */
  onChange(listener: (inForce: MatrixInForce) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Validates a document and, when good and new, publishes it to the bucket and puts it in force
   * here at once (other replicas follow through the bucket). A bad one changes nothing.
   */
  async publish(json: unknown): Promise<PublishResult> {
    const verdict = judgeMatrixDocument(this.current.matrix, json);
    if (!verdict.ok) return verdict;
    if (verdict.unchanged) return { ok: true, unchanged: true, inForce: this.current };
    const entry = await this.bucket.put(serializeSupportMatrix(verdict.matrix.document));
    this.apply(entry);
    return { ok: true, unchanged: false, inForce: this.current };
  }

  /** One bucket entry, in sequence order; the watcher and publish() may both bring the same one. */
  apply(entry: BucketEntry): void {
    if (entry.sequence <= this.lastSeen) return;
    this.lastSeen = entry.sequence;
    if (entry.operation === 'delete') {
      // Deleted from the bucket: a restarted replica would find nothing and use the shipped
      // document, so running ones do too.
      this.logger.warn({ msg: 'support matrix deleted from the bucket; the shipped document is in force again', sequence: entry.sequence, revision: defaultSupportMatrix.revision });
      this.change({ matrix: defaultSupportMatrix, source: 'shipped', sequence: entry.sequence, publishedAt: entry.publishedAt });
      return;
    }
    const verdict = judgeMatrixText(this.current.matrix, entry.text);
    if (!verdict.ok) {
      this.rejected = { sequence: entry.sequence, publishedAt: entry.publishedAt, claimedRevision: claimedRevision(entry.text), problems: verdict.problems };
      this.logger.error({
        msg: 'support matrix from the bucket refused; the revision in force stays',
        sequence: entry.sequence,
        inForce: this.current.matrix.revision,
        problems: verdict.problems.map((p) => `${p.field}: ${p.message}`),
      });
      return;
    }
    if (verdict.unchanged) return;
    this.change({ matrix: verdict.matrix, source: 'bucket', sequence: entry.sequence, publishedAt: entry.publishedAt });
  }

  private change(next: MatrixInForce): void {
    const previous = this.current;
    this.current = next;
    if (serializeSupportMatrix(previous.matrix.document) === serializeSupportMatrix(next.matrix.document)) return;
    this.logger.log({ msg: 'support matrix revision in force changed', from: previous.matrix.revision, to: next.matrix.revision, sequence: next.sequence });
    for (const listener of this.listeners) listener(next);
  }
}

function claimedRevision(text: string): string | null {
  try {
    const json = JSON.parse(text) as unknown;
    const revision = typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['revision'] : undefined;
    return typeof revision === 'string' ? revision : null;
  } catch {
    return null;
  }
}
