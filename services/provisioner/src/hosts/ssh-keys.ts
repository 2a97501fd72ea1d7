import ssh2 from 'ssh2';
import type { UnitOfWork } from '@flotilla/messaging';
import { sshFingerprint } from './host-key-policy.js';

/** Where the installer gets a host's private key, by reference. */
export interface SshKeySource {
  privateKey(ref: string): Promise<Buffer | undefined>;
}

/** The secret kind SSH private keys are stored under. */
export const SSH_KEY_KIND = 'ssh-private-key';
const REF_PREFIX = 'sshkey-';
export const SSH_KEY_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The part of `@flotilla/secrets`' SecretStore used here (every call joins the caller's transaction). */
export interface SecretStorePort {
  put(ref: string, kind: string, value: Buffer, metadata?: Record<string, string>): Promise<void>;
  reveal(ref: string): Promise<{ reveal(): Buffer } | undefined>;
  describe(ref: string): Promise<{ ref: string; kind: string; metadata: Record<string, string>; createdAt: string } | undefined>;
  list(kind?: string): Promise<{ ref: string; kind: string; metadata: Record<string, string>; createdAt: string }[]>;
  delete(ref: string): Promise<boolean>;
}

/** A registered key, as anyone may see it: never the key itself. */
export interface SshKeyView {
  ref: string;
  name: string;
  type: string;
  fingerprint: string;
  createdAt: string;
}

export type ParsedPrivateKey = { ok: true; type: string; fingerprint: string } | { ok: false; message: string };

/**
 * Checks that text is one unencrypted private key (OpenSSH or PEM) and describes its public half.
 * The message never quotes the input.
 */
export function parsePrivateKey(text: string): ParsedPrivateKey {
  let parsed: ReturnType<typeof ssh2.utils.parseKey>;
  try {
    parsed = ssh2.utils.parseKey(text);
  } catch {
    return { ok: false, message: 'is not an OpenSSH or PEM private key' };
  }
  if (Array.isArray(parsed)) return { ok: false, message: 'must hold exactly one key' };
  if (parsed instanceof Error) {
    return { ok: false, message: /passphrase|encrypted/i.test(parsed.message) ? 'is encrypted: register it without a passphrase' : 'is not an OpenSSH or PEM private key' };
  }
  if (!parsed.isPrivateKey()) return { ok: false, message: 'is a public key: the private key is needed' };
  return { ok: true, type: parsed.type, fingerprint: sshFingerprint(parsed.getPublicSSH()) };
}

export function sshKeyRef(name: string): string {
  return `${REF_PREFIX}${name}`;
}

export type RegisterResult = { ok: true; key: SshKeyView } | { ok: false; field: 'name' | 'privateKey'; message: string; conflict?: boolean };

/** Operators register SSH keys by name; hosts refer to them by `ref`. The keys are sealed in the secret store. */
export class SshKeys implements SshKeySource {
  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly store: SecretStorePort,
  ) {}

  async register(name: string, privateKey: string): Promise<RegisterResult> {
    const parsed = parsePrivateKey(privateKey);
    if (!parsed.ok) return { ok: false, field: 'privateKey', message: parsed.message };
    const ref = sshKeyRef(name);
    return this.unitOfWork.run(async () => {
      if (await this.store.describe(ref)) return { ok: false, field: 'name', message: `an SSH key named "${name}" exists already`, conflict: true };
      await this.store.put(ref, SSH_KEY_KIND, Buffer.from(privateKey), { name, type: parsed.type, fingerprint: parsed.fingerprint });
      const described = await this.store.describe(ref);
      return { ok: true, key: { ref, name, type: parsed.type, fingerprint: parsed.fingerprint, createdAt: described?.createdAt ?? new Date().toISOString() } };
    });
  }

  async list(): Promise<SshKeyView[]> {
    const described = await this.unitOfWork.run(() => this.store.list(SSH_KEY_KIND));
    return described.map((entry) => ({
      ref: entry.ref,
      name: entry.metadata['name'] ?? '',
      type: entry.metadata['type'] ?? '',
      fingerprint: entry.metadata['fingerprint'] ?? '',
      createdAt: entry.createdAt,
    }));
  }

  async remove(ref: string): Promise<boolean> {
    return this.unitOfWork.run(async () => {
      const described = await this.store.describe(ref);
      if (described?.kind !== SSH_KEY_KIND) return false;
      return this.store.delete(ref);
    });
  }

  async privateKey(ref: string): Promise<Buffer | undefined> {
    return this.unitOfWork.run(async () => {
      const described = await this.store.describe(ref);
      if (described?.kind !== SSH_KEY_KIND) return undefined;
      return (await this.store.reveal(ref))?.reveal();
    });
  }
}
