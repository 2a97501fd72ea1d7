// The admin token of a local run: kept in .data/admin-token (0600) and made again by the
// inventory's token CLI (services/inventory/dist/src/cli/tokens.js) when the file is missing or
// the token has expired. The CLI prints only the token on stdout; its errors go to stderr.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ADMIN_SUBJECT = 'local-admin';
export const ADMIN_TOKEN_LIFETIME = '90d';

/** The payload of a JWT, decoded without verifying; undefined when `token` is not a JWT. */
export function jwtPayload(token) {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null ? payload : undefined;
  } catch {
    return undefined;
  }
}

/** Why the token in `file` must be made again ('missing', 'unreadable', 'expired'), or undefined while it is good. */
export function adminTokenStale(file, now = Date.now()) {
  if (!existsSync(file)) return 'missing';
  const payload = jwtPayload(readFileSync(file, 'utf8'));
  if (payload === undefined) return 'unreadable';
  // A token without exp does not expire.
  return typeof payload.exp === 'number' && payload.exp * 1000 <= now ? 'expired' : undefined;
}

/**
 * Makes sure `dataRoot/admin-token` holds a token that has not expired and that the inventory
 * still accepts (`accepts(token)`: false after a database reset, a new key ring, a revocation), running
 * `node <cli> create --subject local-admin --role admin --expires-in 90d` with `env` (the
 * inventory's environment) when it does not. Never throws: returns
 * { status: 'kept' | 'created' | 'no-cli' | 'failed', file, reason?, message? }.
 */
export async function ensureAdminToken({ root, dataRoot, env, cli = join(root, 'services/inventory/dist/src/cli/tokens.js'), now = Date.now(), timeoutMs = 60_000, accepts = async () => true }) {
  const file = join(dataRoot, 'admin-token');
  let reason = adminTokenStale(file, now);
  if (reason === undefined) {
    if (await accepts(readFileSync(file, 'utf8').trim())) return { status: 'kept', file };
    reason = 'refused';
  }
  if (!existsSync(cli)) return { status: 'no-cli', file, reason, message: `${relative(root, cli)} is not built (the inventory's token CLI)` };
  const args = [cli, 'create', '--subject', ADMIN_SUBJECT, '--role', 'admin', '--expires-in', ADMIN_TOKEN_LIFETIME];
  const result = await new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, env, timeout: timeoutMs, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  const token = String(result.stdout).trim();
  if (result.error) {
    const why = String(result.stderr).trim() || result.error.message;
    return { status: 'failed', file, reason, message: `the token CLI failed (${result.error.code ?? result.error.signal ?? 'error'}): ${why}` };
  }
  if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) return { status: 'failed', file, reason, message: 'the token CLI printed something that is not a JWT' };
  // Written aside and renamed, so the file is never half there and is 0600 from the start.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  return { status: 'created', file, reason };
}

/** The lines telling people how to use the token against the entry point at `baseUrl`. */
export function adminTokenUsage({ file, root, baseUrl, caFile }) {
  const path = relative(root, file);
  const cacert = caFile ? ` --cacert ${relative(root, caFile)}` : '';
  return [`export FLOTILLA_TOKEN=$(cat ${path})`, `curl${cacert} -H "Authorization: Bearer $FLOTILLA_TOKEN" ${baseUrl}/api/v1/clusters`];
}
