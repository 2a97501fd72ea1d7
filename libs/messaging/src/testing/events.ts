import { eventsSubject, streamName, type EventData, type EventDefinition } from '@flotilla/contracts';
import type { BusConnection } from '../connection.js';

export interface SeenEvent<D extends EventDefinition> {
  id: string;
  subject: string;
  source: string;
  data: EventData<D>;
}

/** Every event of one kind in a test's (small) events stream, in order; optionally about one cluster. */
export async function eventsOf<D extends EventDefinition>(bus: BusConnection, prefix: string, definition: D, clusterId?: string): Promise<SeenEvent<D>[]> {
  const stream = streamName({ prefix }, 'events');
  const subject = eventsSubject({ prefix }, definition.channel);
  const info = await bus.jsm.streams.info(stream).catch(() => undefined);
  if (!info || info.state.messages === 0) return [];
  const seen: SeenEvent<D>[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const stored = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!stored || stored.subject !== subject) continue;
    const header = (name: string) => stored.header?.get(name) ?? '';
    if (clusterId !== undefined && header('ce-subject') !== clusterId) continue;
    seen.push({ id: header('ce-id'), subject: header('ce-subject'), source: header('ce-source'), data: JSON.parse(new TextDecoder().decode(stored.data)) as EventData<D> });
  }
  return seen;
}
