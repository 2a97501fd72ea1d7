#!/usr/bin/env node
// Plans a synthetic fleet and reports time and peak RSS. Run after building:
//   npx tsc -b libs/contracts && node libs/contracts/bench/upgrade-planner.mjs [clusters] [runs]
import { planGlobalUpgrade, defaultSupportMatrix } from '../dist/src/policy/index.js';

const count = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 5);
const suffixes = ['', '-eks-113cf36', '-gke.1234000', '+k3s1', '+rke2r1', '-aliyun.1', '-gs.1'];
const models = ['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected'];

// Deterministic pseudo-random fleet (mulberry32), so runs are comparable.
let seed = 42;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (list) => list[Math.floor(random() * list.length)];
const version = (minor) => `v1.${minor}.${Math.floor(random() * 15)}${pick(suffixes)}`;

const generated = [];
for (let i = 0; i < count; i++) {
  const cp = 27 + Math.floor(random() * 8); // 1.27 .. 1.34
  const pools = [];
  for (let p = 0, n = 1 + Math.floor(random() * 3); p < n; p++) pools.push({ name: `pool-${p}`, version: version(cp - Math.floor(random() * 5)) });
  generated.push({ id: `cluster-${String(i).padStart(6, '0')}`, model: pick(models), controlPlaneVersion: version(cp), nodePools: pools });
}
// Shuffle so the planner's sort does real work.
for (let i = generated.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [generated[i], generated[j]] = [generated[j], generated[i]];
}
// Fleets reach the planner decoded from JSON (bus events, database rows): flat strings, like here.
const fleet = JSON.parse(JSON.stringify(generated));
generated.length = 0;

const times = [];
let plan;
for (const [from, to] of [['4.0', '4.3'], ['4.2', '4.3'], ['4.0', '4.1']]) {
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    plan = planGlobalUpgrade({ fleet, fromRelease: from, toRelease: to, matrix: defaultSupportMatrix, maxConcurrency: 25 });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    times.push({ edge: `${from}->${to}`, ms });
  }
}
for (const edge of [...new Set(times.map((t) => t.edge))]) {
  const ms = times.filter((t) => t.edge === edge).map((t) => t.ms).sort((a, b) => a - b);
  console.log(`${edge}: ${count} clusters, min ${ms[0].toFixed(1)} ms, median ${ms[Math.floor(ms.length / 2)].toFixed(1)} ms, max ${ms.at(-1).toFixed(1)} ms`);
}
console.log('summary of last plan:', plan.summary, 'steps:', plan.steps.length);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
