import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AxeResults } from 'axe-core';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startOtlpReceiver, type OtlpReceiver } from '@flotilla/telemetry/testing';
import { Fleet } from './fleet-harness.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const artifacts = join(root, 'test-results', 'dashboard');
const axeScript = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SERVICES = ['inventory', 'provisioner', 'importer', 'upgrade-planner', 'tunnel-broker'] as const;
const TRACE_VIEWER = 'http://traces.example.test/trace/{traceId}';

/** The entry point of npm start (tools/start-lib), plain JavaScript: what this test uses of it. */
interface Gateway {
  server: Server;
  listen(port: number, host?: string): Promise<{ port: number }>;
  close(): Promise<void>;
}
interface GatewayModule {
  createGateway: (options: { targets: Record<string, string>; dashboard?: unknown }) => Gateway;
}
interface DashboardModule {
  DASHBOARD_BUILD: string;
  dashboardHandler: (options: { dir: string; config: Record<string, string> }) => unknown;
}
const toolModule = async <T,>(path: string): Promise<T> => (await import(pathToFileURL(join(root, path)).href)) as T;

/** axe-core in the page: the serious and critical violations, described. */
async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axeScript });
  const results = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(options: object): Promise<AxeResults> } }).axe;
    return axe.run({ resultTypes: ['violations'] });
  });
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.impact} ${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`);
}

describe('the fleet dashboard in chromium, behind the entry point, on the five services as processes', { timeout: 420_000 }, () => {
  let fleet: Fleet;
  let receiver: OtlpReceiver;
  let gateway: Gateway;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let userDataDir: string;
  const visited: string[] = [];

  /** Checks the page with axe-core and keeps a screenshot of it. */
  const inspect = async (name: string) => {
    visited.push(name);
    await page.screenshot({ path: join(artifacts, `${String(visited.length).padStart(2, '0')}-${name}.png`), fullPage: true });
    assert.deepEqual(await accessibilityProblems(page), [], `${name}: no serious or critical accessibility violation`);
  };
  const signInWith = async (token: string) => {
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };

  before(async () => {
    rmSync(artifacts, { recursive: true, force: true });
    mkdirSync(artifacts, { recursive: true });
    receiver = await startOtlpReceiver();
    fleet = new Fleet({ services: [...SERVICES], env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200', SIM_BOOT_MS: '300' } });
    await fleet.start();
    const { createGateway } = await toolModule<GatewayModule>('tools/start-lib/gateway.mjs');
    const { DASHBOARD_BUILD, dashboardHandler } = await toolModule<DashboardModule>('tools/start-lib/dashboard.mjs');
    const dashboard = dashboardHandler({ dir: join(root, DASHBOARD_BUILD), config: { traceViewerUrl: TRACE_VIEWER } });
    assert.ok(dashboard, `the dashboard is built in ${DASHBOARD_BUILD} (node tools/test.mjs builds it)`);
    gateway = createGateway({ targets: Object.fromEntries(fleet.processes.map((process) => [process.name, process.url])), dashboard });
    base = `http://127.0.0.1:${(await gateway.listen(0, '127.0.0.1')).port}`;
    userDataDir = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // axe-core goes in as an inline script, which the dashboard's Content-Security-Policy forbids.
      bypassCSP: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  });

  after(async () => {
    await context?.close();
    await gateway?.close();
    await fleet?.stop();
    await receiver?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('serves the dashboard at / and its pages at their paths, and keeps /api for the API', async () => {
    const index = await fetch(`${base}/clusters/some-id`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(await index.text(), /<div id="root">/);
    assert.deepEqual(await (await fetch(`${base}/config.json`)).json(), { traceViewerUrl: TRACE_VIEWER });
    assert.equal((await fetch(`${base}/assets/missing.js`)).status, 404);
    const api = await fetch(`${base}/api/v1/nothing-here`);
    assert.equal(api.status, 404);
    assert.match(((await api.json()) as { message: string }).message, /no Flotilla API/);
    assert.equal((await fetch(`${base}/api/v1/clusters`)).status, 401, 'the API still asks for a token');
  });

  it('refuses a bad token on the sign-in page with the API\'s message, then signs in with a good one', async () => {
    await page.goto(base);
    await page.getByRole('heading', { level: 1, name: /Sign in/ }).waitFor();
    await inspect('sign-in');
    await signInWith('not-a-token');
    await page.getByRole('alert').filter({ hasText: 'Not signed in' }).waitFor();
    await signInWith(await fleet.issuer.token('admin', { subject: 'dashboard-admin' }));
    await page.getByRole('heading', { level: 1, name: 'Fleet overview' }).waitFor();
    await page.getByText('Signed in as dashboard-admin (admin)').waitFor();
  });

  it('shows the overview: totals, the fleet by model and status, compliance with the next release', async () => {
    await page.getByRole('heading', { level: 2, name: 'Compliance with the next release' }).waitFor();
    await page.getByText(/The global cluster runs release \d+\.\d+/).waitFor();
    await page.getByTestId('total-clusters').waitFor();
    await page.getByText(/Live: refreshed .* every 5 s/).first().waitFor();
    await inspect('overview');
  });

  let clusterId: string;
  it('creates a cluster with the form and watches it reach Running', async () => {
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Clusters' }).click();
    await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
    await page.getByRole('link', { name: 'Create a cluster' }).click();
    await page.getByRole('heading', { level: 1, name: 'Create a cluster' }).waitFor();
    // A refusal shows the API's message, naming the field.
    await page.getByRole('button', { name: 'Create the cluster' }).click();
    await page.getByRole('alert').filter({ hasText: 'name' }).waitFor();
    await inspect('create-cluster');

    clusterId = `dash-${Date.now().toString(36)}`;
    await page.getByLabel('Name', { exact: true }).fill('Dashboard e2e');
    await page.getByLabel(/^Id/).fill(clusterId);
    await page.getByLabel('Machines').nth(1).fill('2');
    // The JSON editor starts from what the form says, for the fields the form does not have.
    await page.getByRole('button', { name: 'JSON editor' }).click();
    const spec = JSON.parse(await page.getByLabel(/^Cluster request/).inputValue()) as { id: string; model: string; nodePools: { count: number }[] };
    assert.equal(spec.id, clusterId);
    assert.equal(spec.model, 'platform-provisioned');
    assert.equal(spec.nodePools[0]?.count, 2);
    await page.getByRole('button', { name: 'Create the cluster' }).click();
    await page.waitForURL(`${base}/clusters/${clusterId}`);
    await page.getByTestId('cluster-status').getByText('Running').waitFor({ timeout: 60_000 });
    await inspect('cluster-running');
  });

  it("shows the cluster's machines, conditions and timeline with each event's service and trace link", async () => {
    const machines = page.getByRole('table', { name: /^Machines/ });
    await machines.waitFor();
    assert.equal(await machines.getByRole('row').filter({ hasText: 'Running' }).count(), 3, 'one control-plane machine and two workers, Running');
    await page.getByRole('table', { name: 'Conditions reported by the provisioner' }).waitFor();
    const timeline = page.getByRole('table', { name: /Every event about the cluster/ });
    const ready = timeline.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'cluster.ready' }) });
    await ready.waitFor();
    assert.match(await ready.innerText(), /provisioner/);
    const requested = timeline.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'cluster.requested' }) });
    assert.match(await requested.innerText(), /inventory/);
    const traceLink = ready.getByRole('link');
    const traceId = (await traceLink.innerText()).trim();
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.equal(await traceLink.getAttribute('href'), TRACE_VIEWER.replace('{traceId}', traceId));
  });

  it('downloads a kubeconfig for an admin, through the inventory\'s redirect to the provisioner', async () => {
    const download = page.waitForEvent('download', { timeout: 30_000 });
    await page.getByRole('button', { name: 'Download kubeconfig' }).click();
    const file = await download;
    assert.equal(file.suggestedFilename(), `${clusterId}.kubeconfig`);
    const text = readFileSync(await file.path(), 'utf8');
    assert.match(text, /kind: Config/);
    assert.match(text, /client-certificate-data: \S+/);
    assert.match(text, /certificate-authority-data: \S+/);
  });

  it('plans an upgrade and shows its steps and waves', async () => {
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Upgrade plans' }).click();
    await page.getByRole('heading', { level: 1, name: 'Upgrade plans' }).waitFor();
    await page.getByLabel('From release').locator('option').first().waitFor({ state: 'attached' });
    await inspect('upgrade-plans');
    await page.getByLabel('From release').selectOption('4.2');
    await page.getByLabel('To release').selectOption('4.3');
    await page.getByRole('button', { name: 'Plan', exact: true }).click();
    await page.waitForURL(/\/upgrade-plans\/plan-[0-9a-f]+$/);
    await page.getByTestId('plan-summary').getByText(/From release 4\.2 to 4\.3/).waitFor();
    await page.getByRole('heading', { level: 2, name: 'Steps and waves' }).waitFor();
    await page.getByRole('table', { name: "Each cluster's action" }).getByRole('rowheader', { name: clusterId }).waitFor();
    await inspect('upgrade-plan');
  });

  it('lists the cluster under its status, and nothing under another', async () => {
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Clusters' }).click();
    await page.getByLabel('Status').selectOption('Running');
    await page.waitForURL(`${base}/clusters?status=Running`);
    await page.getByRole('table', { name: /\(Running\), page 1/ }).getByRole('rowheader', { name: new RegExp(clusterId) }).waitFor();
    await page.getByLabel('Status').selectOption('Failed');
    await page.getByText('No cluster matches.').waitFor();
    await inspect('cluster-list');
  });

  it('counts the new cluster on the overview and charts it as compatible with the release', async () => {
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('total-clusters').getByText('1', { exact: true }).waitFor();
    await page.getByRole('img', { name: /By model: platform-provisioned 1/ }).waitFor();
    await page.getByRole('img', { name: /Clusters per Kubernetes minor against release \d+\.\d+: 1\.34 1 compatible/ }).waitFor();
    await inspect('overview-with-cluster');
    // Each count leads to the clusters it counts.
    await page.getByRole('table', { name: 'Clusters by kubernetes version' }).getByRole('link', { name: '1.34' }).click();
    await page.waitForURL(`${base}/clusters?version=1.34`);
    await page.getByRole('table', { name: /\(version 1\.34\), page 1/ }).getByRole('rowheader', { name: new RegExp(clusterId) }).waitFor();
  });

  it("shows a failed cluster's reasons, the API's refusal of its kubeconfig, and the cluster among those needing action", async () => {
    const failedId = `${clusterId}-failed`;
    await page.goto(`${base}/create-cluster`);
    await page.getByLabel('Name', { exact: true }).fill('Nowhere');
    await page.getByLabel(/^Id/).fill(failedId);
    await page.getByLabel(/^Infrastructure provider/).fill('nowhere');
    await page.getByRole('button', { name: 'Create the cluster' }).click();
    await page.waitForURL(`${base}/clusters/${failedId}`);
    await page.getByTestId('cluster-status').getByText('Failed').waitFor({ timeout: 60_000 });
    await page.getByRole('heading', { level: 2, name: 'Conditions and reasons' }).waitFor();
    assert.match(await page.locator('section', { has: page.getByRole('heading', { name: 'Conditions and reasons' }) }).innerText(), /nowhere/);
    await page.getByRole('button', { name: 'Download kubeconfig' }).click();
    await page.getByRole('alert').filter({ hasText: new RegExp(`No kubeconfig: cluster "${failedId}"`) }).waitFor();
    await inspect('cluster-failed');

    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Overview' }).click();
    const needing = page.locator('ul.needing-action');
    await needing.getByRole('listitem').filter({ hasText: failedId }).filter({ hasText: /^.*: Failed/ }).waitFor();
  });

  it('shows the audit log with the cluster request', async () => {
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByLabel('Cluster id').fill(clusterId);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('rowheader', { name: 'POST /api/v1/clusters' }).first().waitFor();
    await inspect('audit-log');
  });

  it('offers no kubeconfig to a viewer, and returns to sign-in with a message when the API refuses the token', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInWith(await fleet.issuer.token('viewer', { subject: 'dashboard-viewer' }));
    // Back on the page signed out of: the audit log is for admins, and the API's refusal says so.
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByRole('alert').filter({ hasText: /admin/ }).waitFor();
    await page.goto(`${base}/clusters/${clusterId}`);
    await page.getByTestId('cluster-status').getByText('Running').waitFor();
    await page.getByRole('heading', { level: 2, name: 'Event timeline' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Download kubeconfig' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Create a cluster' }).count(), 0);

    // A token the API no longer takes: the next refresh signs out, saying why.
    await page.evaluate("sessionStorage.setItem('flotilla.token', 'expired.or.revoked')");
    await page.getByRole('heading', { level: 1, name: /Sign in/ }).waitFor({ timeout: 15_000 });
    await page.getByRole('status').getByText(/Signed out: the API refused the token/).waitFor();
    await inspect('signed-out');
  });
});
