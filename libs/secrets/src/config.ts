import { z } from 'zod';
import { SecretsError } from './errors.js';
import { KeyRing } from './keyring.js';

const REQUIRED = 'required: comma-separated id:BASE64_KEY entries, the first wraps new secrets (make a key with `openssl rand -base64 32`)';

/**
 * The secrets variables of a service's configuration, to spread into `serviceConfigSchema(port, {...})`.
 * `SECRETS_KEYS` parses to a KeyRing; a bad value fails start-up with a message naming the
 * variable and the entry, never the key.
 */
export const SecretsConfig = {
  SECRETS_KEYS: z.string({ error: REQUIRED }).transform((text, context): KeyRing => {
    try {
      return KeyRing.parse(text);
    } catch (error) {
      // The issue path already names the variable: drop the prefix, keep only the problem.
      const message = error instanceof SecretsError ? error.message.replace(/^SECRETS_KEYS /, '') : 'could not be read';
      context.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
  }),
};
export type SecretsConfig = { SECRETS_KEYS: KeyRing };
