export type ProvisionerErrorCode =
  | 'cluster-exists'
  | 'cluster-not-found'
  | 'machine-not-found'
  | 'cluster-not-running'
  | 'cluster-deleting'
  | 'cluster-busy'
  | 'node-pool-unknown'
  | 'cluster-too-large'
  | 'scale-hosts-mismatch'
  | 'scale-hosts-not-allowed'
  | 'host-duplicate'
  | 'host-in-another-cluster'
  | 'endpoint-changed'
  | 'cluster-not-hosted';

/** A command that contradicts the state: it can never succeed, whatever the retry. */
export class ProvisionerError extends Error {
  override readonly name = 'ProvisionerError';
  constructor(
    readonly code: ProvisionerErrorCode,
    message: string,
    /** The input field at fault, when there is one. */
    readonly field?: string,
  ) {
    super(message);
  }
}
