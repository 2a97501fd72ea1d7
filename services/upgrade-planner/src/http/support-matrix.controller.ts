import { BadRequestException, Body, Controller, Get, Inject, Put } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { releaseProvenance, SUPPORT_MATRIX_DOCUMENT, SupportMatrixDocument, type FactProvenance } from '@flotilla/contracts';
import { ApiAnswer, ApiErrors, ApiRequestBody, PlatformReleaseEntry, PolicyInForce, ZodValidationPipe, type PolicySource, type RejectedPolicyEntry } from '@flotilla/service-kit';
import type { MatrixSource } from '../domain/support-matrix-revision.js';
import { SupportMatrixStore, type RejectedRevision } from '../planning/support-matrix.store.js';
import { PublishedMatrixAnswer, SupportMatrixAnswer } from './answers.js';

/** The platform release of the global cluster that every service judges requests by. */
export interface PlatformReleaseView {
  release: string;
  /** shipped: the bucket names none yet (the newest release of the shipped matrix is assumed). */
  source: PolicySource;
  /** Bucket sequence of the entry (0: shipped). */
  sequence: number;
  /** The last bucket entry of the policy refused by the shared reader, if any. */
  lastRejected: RejectedPolicyEntry | null;
}

export interface SupportMatrixView {
  revision: string;
  source: MatrixSource;
  /** Bucket sequence of the revision in force (0: the shipped document). */
  sequence: number;
  publishedAt: string | null;
  bucket: string;
  /** The last entry of the bucket that was refused, if any: the revision in force did not change. */
  lastRejected: RejectedRevision | null;
  platformRelease: PlatformReleaseView;
  /** Per release, where each of its facts comes from: documented, or inferred with the reasoning. */
  provenance: Record<string, FactProvenance[]>;
  document: SupportMatrixDocument;
}

@ApiTags('support-matrix')
@Controller('api/v1/support-matrix')
export class SupportMatrixController {
  constructor(
    @Inject(SupportMatrixStore) private readonly store: SupportMatrixStore,
    @Inject(PolicyInForce) private readonly policy: PolicyInForce,
  ) {}

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'The support-matrix revision in force, with the document' })
  @ApiAnswer(200, SupportMatrixAnswer, 'The revision in force')
  @ApiErrors({ 503: 'The support-matrix bucket cannot be read now' })
  get(): SupportMatrixView {
    return this.view();
  }

  /**
   * Validates with parseSupportMatrix and publishes to the bucket; every replica takes it from
   * there without a restart, and open plans are recomputed against it.
   */
  @Put()
  @Access('admin')
  @ApiOperation({ summary: 'Publish a new support-matrix revision' })
  @ApiRequestBody(SupportMatrixDocument, { ...SUPPORT_MATRIX_DOCUMENT, revision: `${SUPPORT_MATRIX_DOCUMENT.revision}-site.1` }, { description: 'A whole support-matrix document with a new revision' })
  @ApiAnswer(200, PublishedMatrixAnswer, 'In force (unchanged: true when it was already)')
  @ApiErrors({ 400: 'Refused, naming every problem (errors[].code); inForce names the revision that stays' })
  async put(@Body() body: unknown): Promise<SupportMatrixView & { unchanged: boolean }> {
    const result = await this.store.publish(body);
    if (!result.ok) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: result.problems.map((problem) => `${problem.field}: ${problem.message}`),
        errors: result.problems,
        inForce: this.store.inForce().matrix.revision,
      });
    }
    return { ...this.view(), unchanged: result.unchanged };
  }

  /**
   * Sets the platform release the global cluster runs: the provisioner, the importer and the
   * inventory judge creation, onboarding and upgrades by it from then on (they follow the bucket).
   */
  @Put('platform-release')
  @Access('admin')
  @ApiOperation({ summary: 'Set the platform release of the global cluster that every service judges by' })
  @ApiRequestBody(PlatformReleaseEntry, { release: '4.3' })
  @ApiAnswer(200, SupportMatrixAnswer, 'In force')
  @ApiErrors({ 400: 'Not a release of the support matrix in force (code release-unknown); the release in force stays' })
  async putRelease(@Body(new ZodValidationPipe(PlatformReleaseEntry)) body: PlatformReleaseEntry): Promise<SupportMatrixView> {
    const { matrix } = this.store.inForce();
    if (!matrix.releases.has(body.release)) {
      const message = `release: ${body.release} is not a release of support matrix ${matrix.revision} (${[...matrix.releases.keys()].join(', ')})`;
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: [message],
        errors: [{ code: 'release-unknown', field: 'release', message }],
        inForce: this.policy.current().release,
      });
    }
    await this.policy.putRelease(body.release);
    return this.view();
  }

  private view(): SupportMatrixView {
    const { matrix, source, sequence, publishedAt } = this.store.inForce();
    const policy = this.policy.current();
    return {
      revision: matrix.revision,
      source,
      sequence,
      publishedAt,
      bucket: this.store.bucketName,
      lastRejected: this.store.lastRejected(),
      platformRelease: { release: policy.release, source: policy.releaseSource, sequence: policy.releaseSequence, lastRejected: this.policy.lastRejected() },
      provenance: Object.fromEntries(matrix.document.releases.map((entry) => [entry.release, releaseProvenance(entry)])),
      document: matrix.document,
    };
  }
}
