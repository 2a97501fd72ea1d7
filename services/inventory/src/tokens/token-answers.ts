import { ROLES } from '@flotilla/auth';
import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import type { SigningKeyDescription } from './token-issuer.js';
import type { TokenDescription } from './token-requests.js';

const Time = z.iso.datetime({ offset: true });

/** A token as listed: everything but the token itself. */
export const TokenAnswer = describes<TokenDescription>()(
  z.object({
    id: z.string().describe('The token id (jti): what revocation names'),
    subject: z.string(),
    role: z.enum(ROLES),
    scope: z.object({ labels: z.record(z.string(), z.string()) }).nullable().describe('The clusters it is limited to, by label; null: the whole fleet'),
    description: z.string().nullable(),
    keyId: z.string().describe('The signing key that signed it'),
    createdBy: z.string(),
    createdAt: Time,
    expiresAt: Time,
    revokedAt: Time.nullable(),
    revokedBy: z.string().nullable(),
  }),
);

/** POST /api/v1/tokens: the token, in this answer only, and its description. */
export const IssuedTokenAnswer = TokenAnswer.extend({ token: z.string().describe('The token: shown once, never stored') });

export const TokenListAnswer = z.object({ items: z.array(TokenAnswer) });

export const SigningKeyAnswer = describes<SigningKeyDescription>()(
  z.object({ kid: z.string(), createdAt: Time, retiredAt: Time.nullable().describe('When it stopped signing new tokens'), withdrawnAt: Time.nullable().describe('When every token it signed stopped working') }),
);

export const SigningKeyListAnswer = z.object({ items: z.array(SigningKeyAnswer) });

export const RotatedKeyAnswer = describes<{ kid: string }>()(z.object({ kid: z.string().describe('The new signing key') }));
