#!/usr/bin/env node
// Runs the test suites through Nx: each project has the targets build (tsc, decorator metadata
// needs it; the dashboard also runs vite), lint and one per test tier, shown in the file name:
//   *.spec.ts      test-unit  pure logic, no I/O (cached by Nx)
//   *.int.spec.ts  test-int   integration against the machine's PostgreSQL and NATS
//   *.e2e.spec.ts  test-e2e   services started as separate processes
// and `test` runs the three. The project `workspace` (the repository root) holds the launcher and
// repository checks, tools/test/*.spec.mjs (plain JS).
// With no project named, the whole suite runs after the static checks (generated contract files
// up to date, type-checked lint), as CI does.
// Usage: node tools/test.mjs [project-dir ...] [--tier unit|int|e2e]
//        node tools/test.mjs --run <project-dir> --tier unit|int|e2e   (a tier target's command:
//        that project's compiled specs of that tier, built beforehand by Nx)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages } from './system-packages.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const TIERS = ['unit', 'int', 'e2e'];
// A test file that never exits (an open handle) must fail the run, not hang CI.
const RUN_TIMEOUT_MS = Number(process.env.TEST_RUN_TIMEOUT_MS ?? 45 * 60 * 1000);
// Integration suites share PostgreSQL and NATS: two files at a time on the 2-core machine. Nx runs
// the int and e2e tiers one project at a time (their targets are not parallel) for the same reason.
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// CI runs on a clean clone: no Nx daemon, no Nx Cloud, plain logs.
const nxEnv = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' };

const args = process.argv.slice(2);
const tier = takeOption(args, '--tier');
if (tier !== undefined && !TIERS.includes(tier)) fail(`--tier must be one of ${TIERS.join(', ')}; it is "${tier}"`);
const runDir = takeOption(args, '--run');

if (runDir !== undefined) {
  if (tier === undefined) fail('--run needs --tier');
  runSpecs(runDir, tier);
} else {
  // Debian packages the integration suites use (an SSH server), installed once on a fresh machine.
  if (tier !== 'unit') {
    try {
      ensureSystemPackages();
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
  }
  const target = tier === undefined ? 'test' : `test-${tier}`;
  if (args.length === 0) {
    nx(['run-many', '-t', 'build', 'check-generated', 'lint']);
    nx(['run-many', '-t', target]);
  } else {
    nx(['run-many', '-t', target, '-p', args.map(projectName).join(',')]);
  }
}

/** One project's compiled specs of one tier; a tier the project has no file of passes. */
function runSpecs(dir, wanted) {
  const projectDir = resolve(root, dir);
  // The workspace's own checks are plain JS, run from source; projects' specs from dist.
  const all = projectDir === root ? findSpecs(join(root, 'tools', 'test'), '.spec.mjs') : findSpecs(join(projectDir, 'dist'), '.spec.js');
  if (all.length === 0) fail(`no test files found in ${relative(root, projectDir) || '.'}: is it built?`);
  const files = all.filter((file) => tierOf(file) === wanted);
  if (files.length === 0) {
    console.log(`no ${wanted} tests in ${relative(root, projectDir) || 'the workspace'}`);
    return;
  }
  run(
    process.execPath,
    ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files.map((f) => relative(root, f))],
    { killSignal: 'SIGKILL' },
  );
}

function tierOf(file) {
  return /\.e2e\.spec\.m?js$/.test(file) ? 'e2e' : /\.int\.spec\.m?js$/.test(file) ? 'int' : 'unit';
}

function findSpecs(dir, suffix) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : findSpecs(path, suffix);
    return name.endsWith(suffix) ? [path] : [];
  });
}

/** The Nx project of a directory: the name in its project.json. */
function projectName(dir) {
  const file = join(resolve(root, dir), 'project.json');
  if (!existsSync(file)) fail(`${dir} is not a project: it has no project.json`);
  return JSON.parse(readFileSync(file, 'utf8')).name;
}

function nx(nxArgs) {
  // Nx stops the tasks it started when it is stopped itself.
  run(join(root, 'node_modules', '.bin', 'nx'), [...nxArgs, '--outputStyle=stream'], { env: nxEnv, killSignal: 'SIGTERM' });
}

function run(command, commandArgs, { env = process.env, killSignal }) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', env, timeout: RUN_TIMEOUT_MS, killSignal });
  if (result.error) {
    const timedOut = 'code' in result.error && result.error.code === 'ETIMEDOUT';
    console.error(timedOut ? `stopped after ${RUN_TIMEOUT_MS / 60000} minutes (TEST_RUN_TIMEOUT_MS)` : `${command} ${commandArgs[0] ?? ''}: ${result.error.message}`);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function takeOption(list, name) {
  const index = list.indexOf(name);
  if (index < 0) return undefined;
  const value = list[index + 1];
  if (value === undefined || value.startsWith('--')) fail(`${name} needs a value`);
  list.splice(index, 2);
  return value;
}

function fail(message) {
  console.error(message);
  process.exit(1);
}
