import type { Provider } from '@nestjs/common';
import type { MigrationInterface } from 'typeorm';
import { RegistrationTokens1732300006100 } from './1732300006100-registration-tokens.js';
import { RegistrationRedemption1732300006200 } from './1732300006200-registration-redemption.js';
import { REGISTRATION_SETTINGS, type RegistrationSettings } from './registration-settings.js';
import { RegistrationTokenEntity } from './registration-token.entity.js';
import { RegistrationTokenRepository } from './registration-token.repository.js';
import { RegistrationsController } from './registrations.controller.js';
import { RegistrationService } from './registration.service.js';

export * from './registration.js';
export * from './manifest.js';
export * from './registration-settings.js';
export { RegistrationService, type IssuedRegistration, type RegistrationView } from './registration.service.js';
export { RegistrationsController } from './registrations.controller.js';
export { RegistrationTokenEntity, RegistrationTokenRepository, RegistrationTokens1732300006100, RegistrationRedemption1732300006200 };

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const registrationEntities: Function[] = [RegistrationTokenEntity];
export const registrationMigrations: (new () => MigrationInterface)[] = [RegistrationTokens1732300006100, RegistrationRedemption1732300006200];
export const registrationControllers = [RegistrationsController];

/** Register mode's providers; it also needs the Clock and UnitOfWork the importer already has. */
export function registrationProviders(settings: RegistrationSettings): Provider[] {
  return [{ provide: REGISTRATION_SETTINGS, useValue: settings }, RegistrationTokenRepository, RegistrationService];
}
