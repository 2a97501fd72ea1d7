import { ROLES } from '@flotilla/auth';
import { ClusterLabels } from '@flotilla/contracts';
import { z } from 'zod';

/** The longest a token may live: signing keys are kept this long after they stop signing. */
export const MAX_TOKEN_LIFETIME_MS = 366 * 86_400_000;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30m`, `12h`, `90d`: how long a token lives. */
export const Lifetime = z
  .string()
  .regex(/^[1-9][0-9]{0,5}[mhd]$/, 'must be a number of minutes, hours or days, e.g. 30m, 12h, 90d')
  .transform((text) => Number(text.slice(0, -1)) * UNIT_MS[text.at(-1) as keyof typeof UNIT_MS])
  .refine((ms) => ms <= MAX_TOKEN_LIFETIME_MS, 'must be at most 366d');

export const CreateTokenBody = z.strictObject({
  subject: z.string().min(1).max(200).describe('Who will present the token: a person, a team, a service account'),
  role: z.enum(ROLES),
  scope: z.strictObject({ labels: ClusterLabels.refine((labels) => Object.keys(labels).length > 0, 'must name at least one label') }).optional().describe('Limit the token to clusters carrying these labels'),
  expiresIn: Lifetime.default(90 * UNIT_MS.d).describe('How long the token lives: 30m, 12h, 90d (default 90d, at most 366d)'),
  description: z.string().max(500).optional(),
});
export type CreateTokenBody = z.infer<typeof CreateTokenBody>;

/** A token as listed: everything but the token itself, which is shown once, when it is made. */
export interface TokenDescription {
  id: string;
  subject: string;
  role: (typeof ROLES)[number];
  scope: { labels: Record<string, string> } | null;
  description: string | null;
  keyId: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
}
