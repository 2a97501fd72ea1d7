// Keeps secrets out of log lines. Two layers:
//  - pino `redact` paths for the common shapes (a secret at the top of the logged object, one level
//    down, or in request headers): cheap, applied while pino serializes;
//  - a last pass over every finished JSON line that catches the same keys at any depth, in any
//    letter case, inside child-logger bindings and serialized errors, plus passwords embedded in
//    URLs (postgres://user:pass@host). It parses a line only when a suspicious key is still present,
//    so ordinary lines cost one regular-expression scan.

export const REDACTED = '[Redacted]';

// Compared with the key lower-cased and '-' / '_' removed ("client-key-data" -> "clientkeydata").
// A key is secret when it ends with one of these...
const SECRET_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'privatekey',
  'kubeconfig',
  'credential',
  'credentials',
  'keydata',
  'sessionid',
];
// ...or contains one of these anywhere ("privateKeyPem", "kubeconfigYaml", "passwordHash").
// "secretName" or "tokenUrl" are deliberately not secret: they name or locate one.
const SECRET_INFIXES = ['password', 'privatekey', 'kubeconfig'];

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[-_]/g, '');
  return (
    SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix)) ||
    SECRET_INFIXES.some((infix) => normalized.includes(infix))
  );
}

// Canonical spellings handled by pino's redact paths; other spellings and depths are left to
// redactLine().
const CANONICAL_KEYS = [
  'password',
  'passphrase',
  'secret',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  'cookie',
  'privateKey',
  'kubeconfig',
  'credentials',
  'clientSecret',
];

export const REDACT_PATHS: string[] = [
  ...CANONICAL_KEYS.flatMap((key) => [key, `*.${key}`]),
  ...['authorization', 'cookie', 'set-cookie', 'x-api-key'].flatMap((header) => [
    `req.headers["${header}"]`,
    `res.headers["${header}"]`,
    `headers["${header}"]`,
  ]),
];

// Over-approximates isSecretKey on a quoted JSON key whose value is not already redacted. A false
// positive only costs a parse; the exact decision is isSecretKey().
const SUSPICIOUS_KEY =
  /"[^"\\]*(?:passw|passphrase|secret|token|api[-_]?key|authorization|cookie|private[-_]?key|kubeconfig|credential|key[-_]?data|session[-_]?id)[^"\\]*":(?!"\[Redacted\]")/i;

// scheme://user:password@ -> scheme://user:[Redacted]@
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@"\\]+):[^\s/@"\\]+@/gi;

/** Redacts secrets left in one serialized log line (pino's `hooks.streamWrite`). */
export function redactLine(line: string): string {
  let result = line;
  if (result.includes('://')) result = result.replace(URL_CREDENTIALS, `$1:${REDACTED}@`);
  if (!SUSPICIOUS_KEY.test(result)) return result;

  const newline = result.endsWith('\n') ? '\n' : '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(result);
  } catch {
    // Not JSON (a custom formatter?): better to drop the content than to leak it.
    return `{"level":"error","msg":"log line dropped: it looked like it contained a secret and could not be parsed"}${newline}`;
  }
  const redacted = redactValue(parsed, 0);
  return redacted === parsed ? result : JSON.stringify(redacted) + newline;
}

const MAX_DEPTH = 64;

/** Returns `value` itself when nothing in it is secret, so clean lines keep their exact bytes. */
export function redactValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    const items = value as unknown[];
    let copy: unknown[] | undefined;
    items.forEach((item, index) => {
      const next = redactValue(item, depth + 1);
      if (next !== item) (copy ??= [...items])[index] = next;
    });
    return copy ?? items;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(record)) {
    const next = isSecretKey(key) ? (item === REDACTED ? item : REDACTED) : redactValue(item, depth + 1);
    if (next !== item) (copy ??= { ...record })[key] = next;
  }
  return copy ?? record;
}
