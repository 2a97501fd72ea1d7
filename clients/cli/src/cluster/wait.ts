import { setTimeout as sleep } from 'node:timers/promises';
import { findCluster } from '../api/fleet-api.js';
import type { ApiClient } from '../api/http.js';
import { CliError, ExitCode, usageError } from '../errors.js';
import { duration } from '../output/table.js';
import { progressLine, type WaitGoal } from './goals.js';

const POLL_INTERVAL_MS = 1000;

/** `--timeout`: 90s, 10m, 1h, or milliseconds as a bare number. */
export function parseTimeout(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw usageError(`--timeout: "${text}" is not a duration; use e.g. 90s, 10m or 1h`);
  const value = Number(match[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms'] ?? 1;
  if (value <= 0) throw usageError('--timeout: must be more than 0');
  return value * unit;
}

/** Whether to wait: --wait / --no-wait when given, else only on a terminal (scripts get the answer at once). */
export function shouldWait(flag: boolean | undefined, stream: { isTTY?: boolean } = process.stdout): boolean {
  return flag ?? stream.isTTY === true;
}

/**
 * Polls the cluster until `goal` says done or failed, showing each change of its progress on
 * stderr (rewritten in place on a terminal). Resolves with the final message; a failure or the
 * deadline throws a CliError with exit code 1 or 3.
 */
export async function waitFor(api: ApiClient, id: string, goal: WaitGoal, timeoutMs: number): Promise<string> {
  const started = Date.now();
  const terminal = process.stderr.isTTY === true;
  let last = '';
  const show = (line: string) => {
    if (line === last) return;
    last = line;
    const text = `  ${id}: ${line} (${duration(Date.now() - started)})`;
    if (terminal) process.stderr.write(`\r\x1b[2K${text}`);
    else process.stderr.write(`${text}\n`);
  };
  const endLine = () => {
    if (terminal && last !== '') process.stderr.write('\n');
  };
  for (;;) {
    const cluster = await findCluster(api, id);
    const outcome = goal.judge(cluster);
    show(progressLine(cluster));
    if (outcome.state !== 'waiting') {
      endLine();
      if (outcome.state === 'failed') throw new CliError(outcome.message, ExitCode.Failed);
      return outcome.message;
    }
    if (Date.now() - started >= timeoutMs) {
      endLine();
      throw new CliError(
        `timed out after ${duration(timeoutMs)} waiting for ${goal.description} (now: ${progressLine(cluster)}); it goes on: follow it with flotilla describe cluster ${id}`,
        ExitCode.TimedOut,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}
