import { z } from 'zod';
import { defineEvent } from '../event-definition.js';

export const RejectionCode = z.enum([
  'unparseable',
  'too-large',
  'unknown-type',
  'schema-invalid',
  'handler-rejected',
  'max-deliveries-exceeded',
  'id-conflict',
]);
export type RejectionCode = z.infer<typeof RejectionCode>;

export const EventRejected = defineEvent({
  name: 'EventRejected',
  topic: 'event.rejected',
  version: 1,
  description:
    'A consumer could never process an event and moved it to the dead-letter stream. The subject is the rejected event\'s subject, or "unknown".',
  subject: 'any',
  data: z.object({
    rejectedEventId: z.string().describe('The CloudEvents id of the rejected event, or its stream sequence when it had none'),
    rejectedType: z.string().optional().describe('The CloudEvents type of the rejected event, when it could be read'),
    rejectedSubject: z.string().optional().describe('The CloudEvents subject of the rejected event, when it could be read (also when it is not a valid id)'),
    code: RejectionCode,
    reason: z.string().min(1),
    consumer: z.string().min(1).describe('The durable consumer that rejected it'),
    deadLetterSubject: z.string().min(1),
  }),
  producers: ['inventory', 'provisioner', 'importer', 'upgrade-planner', 'tunnel-broker'],
  consumers: ['inventory', 'external'],
});
