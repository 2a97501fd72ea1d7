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

/** Where the installer keeps a host's own copy of a file it overwrote, and the mark of one it created (outside any directory a tool reads). */
const SAVED = '/var/lib/flotilla/saved';
const CREATED = '/var/lib/flotilla/created';

/**
 * Before the installer first writes a file: the host's own copy is saved, or the file is marked
 * as created by Flotilla. Only the first write decides, so a rewrite (a retry, an upgrade) never
 * mistakes Flotilla's own file for the host's.
 */
export function preserveScript(path: string): string {
  const saved = shellQuote(`${SAVED}${path}`);
  const created = shellQuote(`${CREATED}${path}`);
  const file = shellQuote(path);
  return `if [ ! -e ${saved} ] && [ ! -e ${created} ]; then if [ -e ${file} ]; then mkdir -p "$(dirname ${saved})" && cp -p ${file} ${saved}; else mkdir -p "$(dirname ${created})" && : > ${created}; fi; fi`;
}

/** A file written as `uploadScript` does, after `preserveScript`. */
export function writeFileScript(path: string, mode: string): string {
  return `${preserveScript(path)} && ${uploadScript(path, mode)}`;
}

/** Undoes the installer's writes of a file: the host's own copy back, or the file gone if Flotilla created it. */
export function restoreFileScript(path: string): string {
  const saved = shellQuote(`${SAVED}${path}`);
  const created = shellQuote(`${CREATED}${path}`);
  const file = shellQuote(path);
  return `if [ -e ${saved} ]; then mv -f ${saved} ${file}; elif [ -e ${created} ]; then rm -f ${file} ${created}; fi`;
}
