import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../src/config.js';
import { sha256Hex } from '../src/credential.js';
import { type LogLine, NAMESPACE, World } from './world.js';

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber.toLowerCase();
const control = (method: string, path: string) => ({ ':method': method, ':path': path, ':authority': 'control.flotilla' });
const said = (logs: LogLine[], msg: string | RegExp) => logs.filter((line) => (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg)));

describe('tunnel agent', () => {
  let world: World;
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    await world.close();
  });

  describe('enrolled once, then dialing with what its Secret keeps', () => {
    const clusterId = 'edge-one';
    const token = 'flt_reg_one-0123456789abcdef';
    let first: ReturnType<World['agent']>;

    it('enrolls with the token, keeps key, certificate, CA and address in its Secret, blanks the used token and connects', async () => {
      world.register(token, clusterId);
      first = world.agent(world.env(clusterId, token));
      await first.agent.run();
      await world.connected(clusterId);
      assert.equal(first.agent.state, 'connected');

      const stored = world.credential();
      assert.deepEqual(Object.keys(stored).sort(), ['ca.crt', 'cluster-id', 'tls.crt', 'tls.key', 'token-sha256', 'tunnel-address']);
      assert.equal(stored['cluster-id'], clusterId);
      assert.equal(stored['ca.crt'], world.ca.cert);
      assert.equal(stored['tunnel-address'], `127.0.0.1:${world.listenerPort}`);
      assert.equal(stored['token-sha256'], sha256Hex(token));
      assert.ok(new X509Certificate(stored['tls.crt']!).checkPrivateKey(createPrivateKey(stored['tls.key']!)));
      assert.deepEqual(world.dials, [{ clusterId, serial: serialOf(stored['tls.crt']!) }]);
      await world.until(() => world.registrationSecret()['token'] === undefined, 'the used token to leave its Secret');

      assert.deepEqual(world.enrollment.seen, [{ token, agentId: `flotilla-tunnel-agent-${clusterId}-0`, agentVersion: '0.1.0', status: 201 }]);
      // Every call to the API server was the agent's own service account.
      assert.ok(world.api.requests.length > 0 && world.api.requests.every((request) => request.authenticated && request.user === undefined));
      assert.equal(said(first.logs, 'enrolled').length, 1);
      assert.equal(said(first.logs, 'connected').length, 1);
      const output = first.output.join('');
      assert.ok(!output.includes(token), 'the token is never logged');
      assert.ok(!output.includes(stored['tls.key']!.split('\n')[1]!), 'the key is never logged');
    });

    it("serves the cluster's API server as the caller the broker names, and nothing under another authority", async () => {
      const version = await world.request(clusterId, { ':path': '/version', ':authority': 'kubernetes.default.svc', 'flotilla-caller-user': 'alice', 'flotilla-caller-groups': 'flotilla:viewer' });
      assert.equal(version.status, 200);
      assert.equal((JSON.parse(version.body) as { gitVersion: string }).gitVersion, 'v1.32.4');
      const seen = world.api.requests.at(-1);
      assert.deepEqual([seen?.path, seen?.user, seen?.groups, seen?.authenticated], ['/version', 'alice', ['flotilla:viewer'], true]);

      // Never as Kubernetes' own users, nor in groups other than Flotilla's, whatever the broker says.
      const asSystem = await world.request(clusterId, { ':path': '/version', ':authority': 'kubernetes.default.svc', 'flotilla-caller-user': 'system:kube-controller-manager', 'flotilla-caller-groups': 'flotilla:admin' });
      assert.equal(asSystem.status, 403);
      assert.match(asSystem.body, /never acts as a system: user/);
      const asMasters = await world.request(clusterId, { ':path': '/version', ':authority': 'kubernetes.default.svc', 'flotilla-caller-user': 'mallory', 'flotilla-caller-groups': 'flotilla:admin,system:masters' });
      assert.equal(asMasters.status, 403);
      assert.match(asMasters.body, /system:masters/);
      assert.equal(world.api.requests.at(-1), seen, 'neither reached the API server');

      const elsewhere = await world.request(clusterId, { ':path': '/version', ':authority': 'example.com' });
      assert.equal(elsewhere.status, 404);
      const unknownCommand = await world.request(clusterId, control('POST', '/reboot'));
      assert.equal(unknownCommand.status, 404);
      const wrongMethod = await world.request(clusterId, control('GET', '/stop'));
      assert.equal(wrongMethod.status, 405);
    });

    it('stores a renewed certificate for its key and dials with it the next time', async () => {
      const before = world.credential();
      const renewed = await world.ca.renew(before['tls.crt']!, clusterId);
      const answer = await world.request(clusterId, control('PUT', '/certificate'), renewed);
      assert.equal(answer.status, 204, answer.body);
      assert.equal(world.credential()['tls.crt']?.trim(), renewed.trim());
      assert.equal(world.credential()['tls.key'], before['tls.key']);
      assert.ok(said(first.logs, /^certificate renewed/).length === 1);

      const dialsBefore = world.dials.length;
      world.listener.disconnect(clusterId, 'test');
      await world.until(() => world.dials.length > dialsBefore && world.listener.session(clusterId) !== undefined, 'the agent to dial again');
      assert.equal(world.dials.at(-1)?.serial, serialOf(renewed));
      assert.ok(said(first.logs, 'disconnected').length >= 1);
      assert.ok(said(first.logs, 'retrying').some((line) => line['what'] === 'tunnel' && typeof line['delayMs'] === 'number'));
    });

    it("refuses a certificate for another key, for another cluster, or of another CA, and keeps what it had", async () => {
      const kept = world.credential()['tls.crt']!;
      const otherKey = await world.request(clusterId, control('PUT', '/certificate'), await world.ca.otherKey(clusterId));
      assert.equal(otherKey.status, 400);
      assert.match(otherKey.body, /certificate-refused.*not for this agent's key/);
      const otherCluster = await world.request(clusterId, control('PUT', '/certificate'), await world.ca.renew(kept, 'edge-other'));
      assert.equal(otherCluster.status, 400);
      assert.match(otherCluster.body, /names cluster edge-other, not edge-one/);
      const { TestCa } = await import('./pki.js');
      const strange = await TestCa.create('another-ca');
      const otherCa = await world.request(clusterId, control('PUT', '/certificate'), await strange.renew(kept, clusterId));
      assert.equal(otherCa.status, 400);
      assert.match(otherCa.body, /not signed by the tunnel's CA/);
      const garbage = await world.request(clusterId, control('PUT', '/certificate'), 'not a certificate');
      assert.equal(garbage.status, 400);
      assert.equal(world.credential()['tls.crt'], kept);
    });

    it('a restarted agent dials with its stored credential, without a token and without enrolling again', async () => {
      await first.agent.shutdown();
      await world.until(() => world.listener.session(clusterId) === undefined, 'the first agent to leave');
      const enrollments = world.enrollment.seen.length;
      const restarted = world.agent(world.env(clusterId, undefined));
      await restarted.agent.run();
      await world.connected(clusterId);
      assert.equal(world.enrollment.seen.length, enrollments);
      assert.equal(world.dials.at(-1)?.serial, serialOf(world.credential()['tls.crt']!));
      first = restarted;
    });

    it('on stop: keeps a stopped marker, forgets the credential, answers 204, closes the link and dials no more', async () => {
      const dialsBefore = world.dials.length;
      const answer = await world.request(clusterId, control('POST', '/stop'));
      assert.equal(answer.status, 204);
      await world.until(() => first.agent.state === 'idle', 'the agent to idle');
      assert.equal(world.listener.session(clusterId), undefined);
      const stored = world.credential();
      assert.deepEqual(Object.keys(stored).sort(), ['cluster-id', 'stopped-at', 'token-sha256']);
      assert.equal(stored['cluster-id'], clusterId);
      assert.ok(!Number.isNaN(Date.parse(stored['stopped-at']!)));
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(world.dials.length, dialsBefore, 'no dial after the stop');
      assert.ok(said(first.logs, /removed from Flotilla/).length === 1);
    });

    it('a restarted agent of a stopped cluster idles without dialing or enrolling, even with its old token', async () => {
      await first.agent.shutdown();
      const [dials, enrollments] = [world.dials.length, world.enrollment.seen.length];
      const restarted = world.agent(world.env(clusterId, token));
      await restarted.agent.run();
      assert.equal(restarted.agent.state, 'idle');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual([world.dials.length, world.enrollment.seen.length], [dials, enrollments]);
      const line = said(restarted.logs, /removed from Flotilla/)[0];
      assert.equal(line?.level, 'warn');
      assert.match(String(line?.['action']), /new registration/);
      await restarted.agent.shutdown();
      assert.equal(restarted.agent.state, 'shut-down');
    });

    it('a stopped cluster registered again (a new token) enrolls again and connects', async () => {
      const fresh = 'flt_reg_one-again-0123456789';
      world.register(fresh, clusterId);
      const again = world.agent(world.env(clusterId, fresh));
      await again.agent.run();
      await world.connected(clusterId);
      assert.equal(world.credential()['token-sha256'], sha256Hex(fresh));
      assert.equal(world.credential()['stopped-at'], undefined);
    });
  });

  describe('a token Flotilla refuses', () => {
    it('logs the code and what to do, stores nothing, and asks again slowly', async () => {
      const clusterId = 'edge-refused';
      const secret = { FLOTILLA_CREDENTIAL_SECRET: 'refused-credential' };
      const { agent, logs, output } = world.agent(world.env(clusterId, 'flt_reg_nobody-knows-this', secret));
      const running = agent.run();
      await world.until(() => said(logs, 'Flotilla refused the registration token').length >= 2, 'two refusals');
      const [refusal] = said(logs, 'Flotilla refused the registration token');
      assert.deepEqual([refusal?.level, refusal?.['status'], refusal?.['code']], ['error', 404, 'token-unknown']);
      assert.match(String(refusal?.['action']), /FLOTILLA_TUNNEL_URL|new registration/);
      assert.equal(typeof refusal?.['retryInMs'], 'number');
      assert.deepEqual(world.credential('refused-credential'), {});
      assert.ok(!output.join('').includes('flt_reg_nobody-knows-this'));
      await agent.shutdown();
      await running;

      world.enrollment.issue('flt_reg_used-already-0000', clusterId, 'used');
      const used = world.agent(world.env(clusterId, 'flt_reg_used-already-0000', secret));
      const usedRun = used.agent.run();
      await world.until(() => said(used.logs, 'Flotilla refused the registration token').length >= 1, 'a refusal');
      const [gone] = said(used.logs, 'Flotilla refused the registration token');
      assert.deepEqual([gone?.['status'], gone?.['code']], [410, 'token-used']);
      assert.match(String(gone?.['action']), /new registration/);
      await used.agent.shutdown();
      await usedRun;
    });

    it('with neither a credential nor a token, stops naming FLOTILLA_REGISTRATION_TOKEN', async () => {
      world.api.putSecret(NAMESPACE, 'without-credential', {});
      const { agent } = world.agent(world.env('edge-without', undefined, { FLOTILLA_CREDENTIAL_SECRET: 'without-credential' }));
      await assert.rejects(agent.run(), (error: unknown) => error instanceof ConfigError && error.problems[0]?.variable === 'FLOTILLA_REGISTRATION_TOKEN');
    });
  });
});
