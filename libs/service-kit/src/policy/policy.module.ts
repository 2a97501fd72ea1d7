import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { BusNaming } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { PolicyInForce } from './policy-in-force.js';

/**
 * The version policy in force (PolicyInForce) for a service that judges requests by it. Start-up
 * waits until the bucket's history is replayed, so no request is judged by a stale revision, for
 * at most 15 s (then it goes on with what it has, and says so).
 */
@Global()
@Module({})
export class PolicyModule {
  static forRoot(options: { naming: BusNaming; bucket?: string }): DynamicModule {
    return {
      module: PolicyModule,
      providers: [{ provide: PolicyInForce, inject: [BusConnection], useFactory: (bus: BusConnection) => new PolicyInForce(bus, options) }],
      exports: [PolicyInForce],
    };
  }
}
