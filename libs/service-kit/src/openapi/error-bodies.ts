import { z } from 'zod';

/** One bad field of a request, by its path (`(body)` for the body as a whole). */
export const FieldProblem = z.looseObject({
  field: z.string().describe('The field, by its path in the request (dots between levels)'),
  message: z.string(),
});
export type FieldProblem = z.infer<typeof FieldProblem>;

/** The 400 of every validated request: each bad field named in `errors` and in `message`. */
export const ValidationErrorBody = z.looseObject({
  statusCode: z.literal(400),
  error: z.literal('Bad Request').optional(),
  message: z.union([z.string(), z.array(z.string())]).describe('`field: message` for every problem'),
  errors: z.array(FieldProblem).min(1).describe('Every problem; rules of the version policy also carry code, release and policyRevision'),
});
export type ValidationErrorBody = z.infer<typeof ValidationErrorBody>;

/** Every other error answer: the status, a message, and a code where callers branch on the reason. */
export const ErrorBody = z.looseObject({
  statusCode: z.number().int().min(400).max(599),
  error: z.string().optional().describe('The status in words'),
  message: z.union([z.string(), z.array(z.string())]),
  code: z.string().optional().describe('The reason, for callers that act on it'),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Their names among the document's components. */
export const ERROR_COMPONENTS = { validation: 'ValidationError', other: 'Error' } as const;
