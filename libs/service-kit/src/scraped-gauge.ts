import { Gauge, register } from 'prom-client';

export interface GaugeReading<L extends string> {
  labels: Partial<Record<L, string>>;
  value: number;
}

/** Reads the gauge's values now; undefined keeps the last ones (the source could not be read). */
export type GaugeSource<L extends string> = () => Promise<GaugeReading<L>[] | undefined>;

const sources = new Map<string, GaugeSource<never>>();

/**
 * A gauge whose values are read when Prometheus scrapes (a count query, say) rather than kept up
 * to date on every change. One per process and name: the source installed last answers (the
 * service started last, in a test process that runs several). Returns how to withdraw it.
 */
export function gaugeOnScrape<L extends string>(definition: { name: string; help: string; labelNames: readonly L[] }, source: GaugeSource<L>): () => void {
  sources.set(definition.name, source);
  if (!register.getSingleMetric(definition.name)) {
    new Gauge({
      name: definition.name,
      help: definition.help,
      labelNames: definition.labelNames,
      async collect() {
        const readings = (await sources.get(definition.name)?.()) as GaugeReading<L>[] | undefined;
        if (!readings) return;
        this.reset();
        for (const { labels, value } of readings) this.set(labels, value);
      },
    });
  }
  return () => {
    if (sources.get(definition.name) === (source as GaugeSource<never>)) sources.delete(definition.name);
  };
}
