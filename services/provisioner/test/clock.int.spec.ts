import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterProvisioningFailed, ClusterReady, NodePoolScaleRequested, NodePoolScaled, UpgradeStepApproved, UpgradeStepFailed } from '@flotilla/contracts';
import { clusterSpec, eventually, Harness, onClock, TestClock } from './support/harness.js';

const WAIT_MS = 30_000;
const DAY_MS = 86_400_000;

interface View {
  phase: string;
  operation: { kind: string; startedAt: string } | null;
  conditions: { type: string; status: string; lastTransitionTime: string }[];
  machines: { name: string; phase: string; deadline: string | null; reconcile: { nextReconcileAt: string | null } | null }[];
}

async function view(h: Harness, id: string): Promise<View> {
  return (await h.getCluster(id)).body as unknown as View;
}

/** Milliseconds between an instant the provisioner recorded and the test clock's now. */
const fromClock = (clock: TestClock, instant: string) => Date.parse(instant) - clock.now().getTime();

describe('the provisioner\'s clock', () => {
  it('a machine still booting when the clock passes its deadline times out at once, however little real time went by', async () => {
    const clock = new TestClock();
    const h = await Harness.start({ SIM_BOOT_MS: '3600000', MACHINE_TIMEOUT_MS: '600000' }, onClock(clock));
    try {
      await h.request('clock-timeout', clusterSpec());
      // Booting at the provider, each with a deadline ten minutes after the clock's now.
      const booting = await eventually(
        async () => {
          const { machines } = await view(h, 'clock-timeout');
          return machines.length === 3 && machines.every((machine) => machine.phase === 'Provisioning') ? machines : undefined;
        },
        WAIT_MS,
        'every machine Provisioning',
      );
      for (const machine of booting) {
        const left = fromClock(clock, machine.deadline!);
        assert.ok(left > 590_000 && left <= 600_000, `${machine.name}: deadline ${left} ms ahead of the clock`);
      }

      clock.advance(601_000);
      const failed = await h.waitFor(ClusterProvisioningFailed, 'clock-timeout', WAIT_MS);
      assert.ok(failed.data.reasons.every((reason) => reason.code === 'machine-timeout'), JSON.stringify(failed.data.reasons));
      assert.equal((await view(h, 'clock-timeout')).phase, 'Failed');
    } finally {
      await h.dispose();
    }
  });

  it('with the clock a day ahead, clusters come up and scale as usual (the queue runs on the same clock), and what is recorded is dated by it', async () => {
    const clock = new TestClock();
    clock.advance(DAY_MS);
    const h = await Harness.start({ MHC_CHECK_INTERVAL_MS: '60000' }, onClock(clock));
    try {
      await h.request('clock-ahead', clusterSpec());
      await h.waitFor(ClusterReady, 'clock-ahead', WAIT_MS);
      const running = await view(h, 'clock-ahead');
      const ready = running.conditions.find((condition) => condition.type === 'Ready')!;
      assert.equal(ready.status, 'True');
      assert.ok(Math.abs(fromClock(clock, ready.lastTransitionTime)) < 60_000, `Ready since ${ready.lastTransitionTime}, the clock says ${clock.now().toISOString()}`);
      // Running nodes are due for their health check one interval after the clock's now.
      for (const machine of running.machines) {
        const due = fromClock(clock, machine.reconcile!.nextReconcileAt!);
        assert.ok(due > 0 && due <= 60_000, `${machine.name}: health check due ${due} ms after the clock`);
      }

      await h.publish(NodePoolScaleRequested, 'clock-ahead', { pool: 'workers', count: 3 });
      const scaled = await h.waitFor(NodePoolScaled, 'clock-ahead', WAIT_MS);
      assert.deepEqual([scaled.data.from, scaled.data.to], [2, 3]);
      const scaling = (await view(h, 'clock-ahead')).conditions.find((condition) => condition.type === 'Scaling')!;
      assert.ok(Math.abs(fromClock(clock, scaling.lastTransitionTime)) < 60_000, `Scaling changed at ${scaling.lastTransitionTime}, the clock says ${clock.now().toISOString()}`);

      // A request is judged when the handler takes it up, by the clock: a step that skips a minor is refused then.
      clock.advance(DAY_MS);
      await h.publish(UpgradeStepApproved, 'clock-ahead', { planId: 'plan-1', toVersion: '1.36' });
      await h.waitFor(UpgradeStepFailed, 'clock-ahead', WAIT_MS);
      const refused = (await view(h, 'clock-ahead')).conditions.find((condition) => condition.type === 'Upgrading')!;
      assert.ok(Math.abs(fromClock(clock, refused.lastTransitionTime)) < 60_000, `Upgrading refused at ${refused.lastTransitionTime}, the clock says ${clock.now().toISOString()}`);
    } finally {
      await h.dispose();
    }
  });
});
