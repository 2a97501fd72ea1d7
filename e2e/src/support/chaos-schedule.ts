/*
 * The faults of a chaos run, drawn from a seed so that a failing run can be replayed: which
 * service processes are SIGKILLed, when NATS and PostgreSQL are restarted and when bad messages
 * are published, each at a share of the requested clusters having reached a terminal state.
 */

export type Fault = { kind: 'kill'; victim: number } | { kind: 'nats-restart' } | { kind: 'postgres-restart' } | { kind: 'bad-message'; index: number };

export interface ScheduledFault {
  /** Run when this share (0..1) of the requested clusters is terminal. */
  at: number;
  fault: Fault;
}

/** mulberry32: a small seeded generator, enough to draw a schedule. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScheduleOptions {
  seed: number;
  kills: number;
  /** How many service processes there are to pick victims from. */
  processes: number;
  badMessages: number;
  /** The window of the run the faults fall in, as shares of the clusters terminal. */
  from?: number;
  to?: number;
}

/** The faults in the order they run: kills of random processes, one NATS and one PostgreSQL restart, the bad messages. */
export function chaosSchedule({ seed, kills, processes, badMessages, from = 0.05, to = 0.85 }: ScheduleOptions): ScheduledFault[] {
  const random = seededRandom(seed);
  const at = () => Math.round((from + random() * (to - from)) * 1000) / 1000;
  const faults: ScheduledFault[] = [];
  for (let i = 0; i < kills; i++) faults.push({ at: at(), fault: { kind: 'kill', victim: Math.floor(random() * processes) } });
  faults.push({ at: at(), fault: { kind: 'nats-restart' } });
  faults.push({ at: at(), fault: { kind: 'postgres-restart' } });
  for (let index = 0; index < badMessages; index++) faults.push({ at: at(), fault: { kind: 'bad-message', index } });
  return faults.sort((a, b) => a.at - b.at);
}
