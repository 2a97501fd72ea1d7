import { createHash } from 'node:crypto';

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64 (as `ssh-keygen -l` prints). */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

export type HostKeyDecision = { accept: true; pin: boolean } | { accept: false; code: 'host-key-changed' | 'host-key-mismatch'; detail: string };

/**
 * Trust on first use: a host's key is pinned the first time it is seen (unless an expected
 * fingerprint is given, which then must match), and a different key later is refused.
 */
export function decideHostKey(presented: string, pinned: string | null, expected: string | null): HostKeyDecision {
  if (expected !== null && presented !== expected) return { accept: false, code: 'host-key-mismatch', detail: `expected ${expected}, the host presented ${presented}` };
  if (pinned === null) return { accept: true, pin: true };
  if (pinned !== presented) return { accept: false, code: 'host-key-changed', detail: `pinned ${pinned}, the host presented ${presented}; if the host was reinstalled, remove its pin` };
  return { accept: true, pin: false };
}
