import { createEvent, eventsSubject, type EventData, type EventDefinition } from '@flotilla/contracts';
import { publishEvent, type BusConnection } from '@flotilla/messaging';

/** Publishes events as a service that produces them would: consumers refuse one that claims another's source. */
export function publisher(bus: () => BusConnection, prefix: () => string) {
  const producerOf = (definition: EventDefinition) => definition.producers.find((producer) => producer !== 'external') ?? 'inventory';
  return <D extends EventDefinition>(definition: D, subject: string, data: EventData<D>) =>
    publishEvent(bus().js, eventsSubject({ prefix: prefix() }, definition.channel), createEvent(definition, { subject, source: `/flotilla/${producerOf(definition)}` }, data));
}
