import { BadRequestException, Body, Controller, Get, Inject, Put } from '@nestjs/common';
import { Access } from '@flotilla/auth';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { SupportMatrixDocument } from '@flotilla/contracts';
import { z } from 'zod';
import type { MatrixSource } from '../domain/support-matrix-revision.js';
import { SupportMatrixStore, type RejectedRevision } from '../planning/support-matrix.store.js';

const documentSchema = z.toJSONSchema(SupportMatrixDocument, { io: 'input', target: 'openapi-3.0' }) as Record<string, unknown>;

export interface SupportMatrixView {
  revision: string;
  source: MatrixSource;
  /** Bucket sequence of the revision in force (0: the shipped document). */
  sequence: number;
  publishedAt: string | null;
  bucket: string;
  /** The last entry of the bucket that was refused, if any: the revision in force did not change. */
  lastRejected: RejectedRevision | null;
  document: SupportMatrixDocument;
}

@ApiTags('support-matrix')
@Controller('api/v1/support-matrix')
export class SupportMatrixController {
  constructor(@Inject(SupportMatrixStore) private readonly store: SupportMatrixStore) {}

  @Get()
  @Access('viewer')
  @ApiOperation({ summary: 'The support-matrix revision in force, with the document' })
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
  @ApiBody({ schema: documentSchema })
  @ApiResponse({ status: 200, description: 'In force (unchanged: true when it was already)' })
  @ApiResponse({ status: 400, description: 'Refused, naming every problem; the revision in force stays' })
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

  private view(): SupportMatrixView {
    const { matrix, source, sequence, publishedAt } = this.store.inForce();
    return { revision: matrix.revision, source, sequence, publishedAt, bucket: this.store.bucketName, lastRejected: this.store.lastRejected(), document: matrix.document };
  }
}
