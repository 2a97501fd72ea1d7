// Child processes of `npm start`: spawned in their own process group (so Ctrl-C reaches only the
// launcher, which then stops them in order), output prefixed line by line, stopped by signal.
import { spawn } from 'node:child_process';
import { colourFor, formatPrefix, pipePrefixed } from './lines.mjs';

/**
 * Makes a `launch(label, command, args, options)` that starts a process and returns its handle.
 * options: cwd, env, uid, gid, dim (infrastructure colour), onLine / hide (see pipePrefixed),
 * stopSignal, stopTimeoutMs. The handle:
 * { label, child, exit: Promise<{code, signal}>, exited?: {code, signal}, stopSignal, stopTimeoutMs }.
 */
export function createLauncher({ cwd, env, width, colour, stdout = process.stdout, stderr = process.stderr }) {
  const handles = [];
  let count = 0;
  const launch = (label, command, args, options = {}) => {
    const index = options.dim ? 0 : count++;
    const prefix = formatPrefix(label, { width, colour: colour ? colourFor(index, { dim: options.dim }) : undefined });
    const child = spawn(command, args, {
      cwd: options.cwd ?? cwd,
      env: options.env ?? env,
      uid: options.uid,
      gid: options.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const handle = {
      label,
      child,
      stopSignal: options.stopSignal ?? 'SIGTERM',
      stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
      exited: undefined,
      exit: undefined,
    };
    handle.exit = new Promise((resolve) => {
      child.once('error', (error) => {
        handle.exited ??= { code: 127, signal: null, error };
        stderr.write(`${prefix}cannot start ${command}: ${error.message}\n`);
        resolve(handle.exited);
      });
      // 'close' comes once the output is drained too; a grandchild holding the pipes open could
      // delay it forever, so give up on it a moment after 'exit'.
      child.once('close', (code, signal) => {
        handle.exited ??= { code, signal };
        resolve(handle.exited);
      });
      child.once('exit', (code, signal) => {
        setTimeout(() => {
          handle.exited ??= { code, signal };
          resolve(handle.exited);
        }, 1_000).unref();
      });
    });
    const lineOptions = { onLine: options.onLine, hide: options.hide };
    pipePrefixed(child.stdout, prefix, (text) => stdout.write(text), lineOptions);
    pipePrefixed(child.stderr, prefix, (text) => stderr.write(text), lineOptions);
    handles.push(handle);
    return handle;
  };
  return { launch, handles };
}

/** Sends the handle's stop signal, waits up to its timeout, then SIGKILL. Resolves on exit. */
export async function stopProcess(handle) {
  if (handle.exited) return handle.exited;
  signal(handle, handle.stopSignal);
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), handle.stopTimeoutMs);
  });
  const result = await Promise.race([handle.exit, timedOut]);
  clearTimeout(timer);
  if (result !== 'timeout') return result;
  signal(handle, 'SIGKILL');
  return handle.exit;
}

/** Kills at once (second Ctrl-C, or the launcher itself is going away). Synchronous. */
export function killNow(handle) {
  if (!handle.exited) signal(handle, 'SIGKILL');
}

function signal(handle, name) {
  try {
    handle.child.kill(name);
  } catch {
    // already gone
  }
}
