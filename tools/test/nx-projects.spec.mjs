// The Nx projects npm test runs (nx.json, a project.json in each workspace package) and the
// runner of their tier targets (tools/test.mjs --run).
// Run: node --test tools/test/nx-projects.spec.mjs
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const TARGETS = ['build', 'lint', 'test', 'test-unit', 'test-int', 'test-e2e'];

const readJson = (path) => JSON.parse(readFileSync(join(root, path), 'utf8'));

/** The workspace packages of the root package.json, as directories relative to the root. */
function workspacePackages() {
  return readJson('package.json').workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(root, parent, entry.name, 'package.json')))
      .map((entry) => `${parent}/${entry.name}`);
  });
}

const packages = workspacePackages();
const byPackageName = new Map(packages.map((dir) => [readJson(`${dir}/package.json`).name, dir]));
const byProjectName = new Map(packages.filter((dir) => existsSync(join(root, dir, 'project.json'))).map((dir) => [readJson(`${dir}/project.json`).name, dir]));

/** The workspace package holding `path` (absolute), if any. */
function packageOf(path) {
  return packages.find((dir) => path === join(root, dir) || path.startsWith(join(root, dir) + sep));
}

describe('the Nx projects', () => {
  it('are every workspace package, named after its directory, with the targets npm test runs', () => {
    assert.ok(packages.length > 10, `workspace packages: ${packages.join(', ')}`);
    for (const dir of packages) {
      assert.ok(existsSync(join(root, dir, 'project.json')), `${dir}/project.json`);
      const project = readJson(`${dir}/project.json`);
      assert.equal(project.name, basename(dir), `${dir}/project.json name`);
      assert.deepEqual(TARGETS.filter((target) => !(target in project.targets)), [], `${dir}/project.json targets`);
    }
  });

  it('depend on every project their tsconfig files reference, so Nx builds those first', () => {
    for (const dir of packages) {
      const manifest = readJson(`${dir}/package.json`);
      const declared = new Set(
        [...Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).map((name) => byPackageName.get(name)), ...(readJson(`${dir}/project.json`).implicitDependencies ?? []).map((name) => byProjectName.get(name))].filter(Boolean),
      );
      const referenced = readdirSync(join(root, dir))
        .filter((name) => /^tsconfig.*\.json$/.test(name))
        .flatMap((name) => (readJson(`${dir}/${name}`).references ?? []).map((reference) => packageOf(resolve(root, dir, reference.path))))
        .filter((other) => other !== undefined && other !== dir);
      for (const other of new Set(referenced)) assert.ok(declared.has(other), `${dir} references ${other} in a tsconfig but depends on it neither in package.json nor in project.json implicitDependencies`);
    }
  });

  it('cache the integration and end-to-end tiers nowhere and run them alone: they share PostgreSQL and NATS', () => {
    const { targetDefaults } = readJson('nx.json');
    for (const tier of ['test-int', 'test-e2e']) {
      assert.equal(targetDefaults[tier].cache, false, tier);
      assert.equal(targetDefaults[tier].parallelism, false, tier);
    }
    assert.equal(targetDefaults['test-unit'].cache, true);
    assert.ok(targetDefaults.build.inputs.includes('^production'), 'a dependency is seen by its production files only');
  });
});

describe('tools/test.mjs --run (the tier targets)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-tiers-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const project = join(dir, 'project');
  mkdirSync(join(project, 'dist', 'test'), { recursive: true });
  writeFileSync(join(project, 'dist', 'test', 'pure.spec.js'), "import { it } from 'node:test';\nit('passes', () => {});\n");
  writeFileSync(join(project, 'dist', 'test', 'db.int.spec.js'), "import { it } from 'node:test';\nit('fails', () => { throw new Error('int ran'); });\n");
  // Without this test runner's own context, so the runner's node --test reports as it does in Nx.
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  const runTier = (projectDir, tier) =>
    spawnSync(process.execPath, [join(root, 'tools', 'test.mjs'), '--run', relative(root, projectDir), '--tier', tier], { cwd: root, env, encoding: 'utf8' });

  it("runs only the tier's compiled specs", () => {
    const unit = runTier(project, 'unit');
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout, /passes/);
    assert.doesNotMatch(unit.stdout, /int ran/);
    const int = runTier(project, 'int');
    assert.equal(int.status, 1, int.stdout + int.stderr);
    assert.match(int.stdout, /int ran/);
  });

  it('passes a tier the project has no file of, and fails a project with no compiled specs at all', () => {
    const e2e = runTier(project, 'e2e');
    assert.equal(e2e.status, 0, e2e.stderr);
    assert.match(e2e.stdout, /no e2e tests/);
    const empty = join(dir, 'unbuilt');
    mkdirSync(empty);
    const none = runTier(empty, 'unit');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no test files found .*is it built\?/);
  });

  it('refuses an unknown tier, naming the option', () => {
    const bad = runTier(project, 'smoke');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--tier must be one of unit, int, e2e; it is "smoke"/);
  });
});
