/** Why an SSH connection or command could not be used. */
export type SshErrorCode = 'key-unknown' | 'key-invalid' | 'auth-failed' | 'host-key-changed' | 'host-key-mismatch' | 'host-in-another-cluster' | 'unreachable' | 'timeout' | 'connection-lost';

/** Whether trying again later can help: the reconciler retries what may pass and fails the machine otherwise. */
export function sshErrorIsTransient(code: SshErrorCode): boolean {
  switch (code) {
    case 'unreachable':
    case 'timeout':
    case 'connection-lost':
      return true;
    case 'key-unknown':
    case 'key-invalid':
    case 'auth-failed':
    case 'host-key-changed':
    case 'host-key-mismatch':
    case 'host-in-another-cluster':
      return false;
  }
}

export function describeSshErrorCode(code: SshErrorCode): string {
  switch (code) {
    case 'key-unknown':
      return 'the SSH key reference is not registered';
    case 'key-invalid':
      return 'the stored SSH key cannot be used';
    case 'auth-failed':
      return 'the host refused the SSH key';
    case 'host-key-changed':
      return 'the host key changed since it was first seen';
    case 'host-key-mismatch':
      return 'the host key is not the expected one';
    case 'host-in-another-cluster':
      return 'the host belongs to another cluster';
    case 'unreachable':
      return 'the host cannot be reached';
    case 'timeout':
      return 'the host did not answer in time';
    case 'connection-lost':
      return 'the SSH connection was lost';
  }
}

/** An SSH failure with its code. The message names the host and never carries key material. */
export class SshError extends Error {
  override readonly name = 'SshError';

  constructor(
    readonly code: SshErrorCode,
    readonly host: string,
    detail?: string,
  ) {
    super(`${host}: ${describeSshErrorCode(code)}${detail ? ` (${detail})` : ''}`);
  }

  get transient(): boolean {
    return sshErrorIsTransient(this.code);
  }
}
