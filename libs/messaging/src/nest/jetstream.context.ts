import type { CloudEvent } from '@flotilla/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import type { DeliveredEvent } from '../consumer/event-consumer.js';
import { BaseRpcContext } from '@nestjs/microservices';

/** The `@Ctx()` of an `@EventPattern` handler on the JetStream transport. */
export class JetStreamContext extends BaseRpcContext<[JsMsg, CloudEvent, string]> {
  getMessage(): JsMsg {
    return this.args[0];
  }

  getEvent(): CloudEvent {
    return this.args[1];
  }

  /** The durable consumer (consumer group) delivering the event. */
  getConsumer(): string {
    return this.args[2];
  }

  getDeliveryCount(): number {
    return this.args[0].info.deliveryCount;
  }
}

/** The `@Ctx()` of an `@OnEventBatch` handler: every delivered message of the batch. */
export class JetStreamBatchContext extends BaseRpcContext<[DeliveredEvent[]]> {
  getDeliveries(): DeliveredEvent[] {
    return this.args[0];
  }
}
