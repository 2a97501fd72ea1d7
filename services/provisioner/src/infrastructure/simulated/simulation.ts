import { createHash } from 'node:crypto';

/**
 * Whether the simulated cloud fails this machine. A function of the seed and the machine's
 * identity only, so a run is reproducible whatever order machines are created in, and a machine
 * re-created under the same name fails (or not) the same way.
 */
export function simulatedFailure(seed: string, clusterId: string, name: string, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  const digest = createHash('sha256').update(`${seed}\0${clusterId}\0${name}`).digest();
  // 48 bits are plenty for a rate and stay exact as a double.
  const draw = digest.readUIntBE(0, 6) / 2 ** 48;
  return draw < rate;
}
