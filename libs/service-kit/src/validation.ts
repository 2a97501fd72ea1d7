import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import type { FieldProblem, ValidationErrorBody } from './openapi/error-bodies.js';

/** Validates a request part against a zod schema; a 400 lists every bad field by its path. */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const result = this.schema.safeParse(value);
    if (result.success) return result.data;
    const errors: FieldProblem[] = result.error.issues.map((issue) => ({ field: issue.path.map(String).join('.') || '(body)', message: issue.message }));
    const body: ValidationErrorBody = { statusCode: 400, error: 'Bad Request', message: errors.map((problem) => `${problem.field}: ${problem.message}`), errors };
    throw new BadRequestException(body);
  }
}
