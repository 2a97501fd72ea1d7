/**
 * What the process exit code says happened. Scripts branch on these, so they never change meaning
 * (README.md lists them).
 */
export const ExitCode = {
  /** Done: the command did what it was asked (and, with --wait, the cluster got there). */
  Ok: 0,
  /** Failed: the API refused the request, or the operation ended Failed or Rejected. */
  Failed: 1,
  /** Usage: bad flags or arguments, or a file that cannot be read or parsed. */
  Usage: 2,
  /** Timed out: --wait gave up before the operation ended (it goes on in the background). */
  TimedOut: 3,
  /** Not authenticated or not allowed: no token, a token refused (401) or a role or scope too small (403). */
  Unauthorized: 4,
  /** Unreachable: nothing answered at the server address, its certificate is not trusted, or a service is down (502, 503). */
  Unreachable: 5,
  /** Not found: the cluster (or other object) named does not exist. */
  NotFound: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error meant for the person at the terminal: what was wrong and what to do, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string): CliError => new CliError(message, ExitCode.Usage);
