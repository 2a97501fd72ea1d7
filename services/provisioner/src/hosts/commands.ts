/** Quotes a string for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command as the host runs it: through `sudo -n` (never prompting) unless the user is root. */
export function asRoot(user: string, script: string): string {
  return user === 'root' ? `sh -c ${shellQuote(script)}` : `sudo -n sh -c ${shellQuote(script)}`;
}

/**
 * Writes a file from standard input, base64-encoded so any content survives the channel. The
 * content travels on stdin, never in the command line (it may hold a join token).
 */
export function uploadScript(path: string, mode: string): string {
  const directory = path.slice(0, path.lastIndexOf('/')) || '/';
  return `umask 077 && mkdir -p ${shellQuote(directory)} && base64 -d > ${shellQuote(path)}.tmp && chmod ${mode} ${shellQuote(path)}.tmp && mv ${shellQuote(path)}.tmp ${shellQuote(path)}`;
}

export const MASK = '***';
const OUTPUT_LIMIT = 8_000;

/** Patterns that carry kubeadm secrets whatever their value (a second line of defence). */
const SECRET_PATTERNS: readonly RegExp[] = [
  /(--token[= ])\S+/g,
  /(--certificate-key[= ])\S+/g,
  /(\btoken:\s*)\S+/g,
  /(\bcertificateKey:\s*)\S+/g,
  /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g,
];

/** Output fit for a record: every known secret and anything shaped like one masked, the tail kept. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of secrets) if (secret.length > 0) masked = masked.split(secret).join(MASK);
  for (const pattern of SECRET_PATTERNS) masked = masked.replace(pattern, (match: string, prefix?: string) => (typeof prefix === 'string' ? `${prefix}${MASK}` : MASK));
  return masked;
}

export function trimOutput(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= OUTPUT_LIMIT ? trimmed : `…${trimmed.slice(-OUTPUT_LIMIT)}`;
}
