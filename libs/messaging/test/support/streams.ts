import type { JetStreamManager, StoredMsg } from '@nats-io/jetstream';

export interface ReadMessage {
  subject: string;
  seq: number;
  headers: Record<string, string>;
  data: Uint8Array;
  json<T>(): T;
}

/** Every message of a (small) stream, optionally only one subject, in order. */
export async function readStream(jsm: JetStreamManager, stream: string, subject?: string): Promise<ReadMessage[]> {
  const info = await jsm.streams.info(stream);
  const out: ReadMessage[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const stored: StoredMsg | null = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!stored || (subject && stored.subject !== subject)) continue;
    const headers: Record<string, string> = {};
    for (const [key, values] of stored.header ?? []) if (values[0] !== undefined) headers[key] = values[0];
    out.push({ subject: stored.subject, seq: stored.seq, headers, data: stored.data, json: <T>() => JSON.parse(new TextDecoder().decode(stored.data)) as T });
  }
  return out;
}
