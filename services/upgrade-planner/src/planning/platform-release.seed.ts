import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { PolicyInForce } from '@flotilla/service-kit';
import { UPGRADE_PLANNER_CONFIG, type UpgradePlannerConfig } from '../config.js';
import { SupportMatrixStore } from './support-matrix.store.js';

/**
 * Writes PLATFORM_RELEASE to the bucket when it names no platform release yet (the first start of
 * an installation); after that the bucket is the only source, changed through the API.
 */
@Injectable()
export class PlatformReleaseSeed implements OnModuleInit {
  private readonly logger = new Logger(PlatformReleaseSeed.name);

  constructor(
    @Inject(SupportMatrixStore) private readonly store: SupportMatrixStore,
    @Inject(PolicyInForce) private readonly policy: PolicyInForce,
    @Inject(UPGRADE_PLANNER_CONFIG) private readonly config: UpgradePlannerConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    // The store creates the bucket when missing.
    await this.store.onModuleInit();
    await this.policy.onModuleInit();
    if (this.policy.current().releaseSource === 'bucket') return;
    const seeded = await this.policy.putRelease(this.config.PLATFORM_RELEASE, { onlyIfAbsent: true });
    if (seeded) this.logger.log({ msg: 'platform release seeded from PLATFORM_RELEASE', release: this.config.PLATFORM_RELEASE, bucket: this.policy.bucket });
  }
}
