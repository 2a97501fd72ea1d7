/** The redacted secret wrapper of the platform: `[redacted]` wherever it is printed. */
export { Secret } from '@flotilla/secrets';

/** What the cloud code needs of a stored account: its value, where it is put to use. */
export interface RevealableSecret {
  revealString(): string;
}
