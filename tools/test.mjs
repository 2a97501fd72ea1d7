#!/usr/bin/env node
// Runs the test suites: builds every project with tsc (decorator metadata needs it), then runs
// the compiled specs with node's test runner. Tiers show in the file name:
//   *.spec.ts      pure logic, no I/O
//   *.int.spec.ts  integration against the machine's PostgreSQL and NATS
//   *.e2e.spec.ts  services started as separate processes
//   tools/test/*.spec.mjs  the launcher and repository checks (plain JS)
// With no project named, the whole suite runs after the static checks: generated contract
// files up to date, then type-checked lint.
// Usage: node tools/test.mjs [project-dir ...] [--tier unit|int|e2e]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages } from './system-packages.mjs';
import { buildDashboard, DASHBOARD_PROJECT } from './start-lib/dashboard.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
// A test file that never exits (an open handle) must fail the run, not hang CI.
const RUN_TIMEOUT_MS = Number(process.env.TEST_RUN_TIMEOUT_MS ?? 45 * 60 * 1000);
const args = process.argv.slice(2);
const tierIndex = args.indexOf('--tier');
const tier = tierIndex >= 0 ? args.splice(tierIndex, 2)[1] : undefined;
const whole = args.length === 0;
const projects = whole ? [...['libs', 'services', 'agents', 'clients'].flatMap((dir) => listDirs(join(root, dir))), 'e2e'] : args;

// Debian packages the integration suites use (an SSH server), installed once on a fresh machine.
if (tier !== 'unit') {
  try {
    ensureSystemPackages();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
run('npx', ['tsc', '-b', ...projects.map((p) => join(resolve(root, p), 'tsconfig.json'))]);
// The dashboard's bundle, for its project and for the end-to-end tests that drive it in a browser.
if (projects.some((p) => [DASHBOARD_PROJECT, 'e2e'].includes(relative(root, resolve(root, p))))) {
  const failure = buildDashboard(root);
  if (failure) {
    console.error(failure);
    process.exit(1);
  }
}
if (whole) {
  run(process.execPath, ['libs/contracts/dist/scripts/generate.js', '--check']);
  run('npx', ['eslint', '.']);
}

const toolSpecs = whole && tier === undefined ? findSpecs(join(root, 'tools', 'test'), '.spec.mjs') : [];
const files = [...toolSpecs, ...projects.flatMap((p) => findSpecs(join(resolve(root, p), 'dist'))).filter((file) => matchesTier(file, tier))];
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
run(process.execPath, [
  '--enable-source-maps',
  '--test',
  `--test-concurrency=${concurrency}`,
  '--test-reporter=spec',
  ...files.map((f) => relative(root, f)),
]);

function matchesTier(file, wanted) {
  const kind = file.endsWith('.e2e.spec.js') ? 'e2e' : file.endsWith('.int.spec.js') ? 'int' : 'unit';
  return wanted === undefined || wanted === kind;
}

function findSpecs(dir, suffix = '.spec.js') {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : findSpecs(path, suffix);
    return name.endsWith(suffix) ? [path] : [];
  });
}

function listDirs(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((path) => existsSync(join(path, 'tsconfig.json')))
    .map((path) => relative(root, path));
}

function run(command, commandArgs) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (result.error) console.error(`${command} ${commandArgs[0] ?? ''}: ${result.error.message}`);
  if (result.status !== 0) process.exit(result.status ?? 1);
}
