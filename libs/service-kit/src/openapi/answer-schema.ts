import type { z } from 'zod';

type Mismatch<Message extends string> = { 'the schema and the type differ': Message };

/** `unknown` when a schema's output and a type describe the same object; a named mismatch otherwise. */
export type Describes<S extends z.ZodType, T> = [z.output<S>] extends [T]
  ? [T] extends [z.output<S>]
    ? [Exclude<keyof T, keyof z.output<S>>, Exclude<keyof z.output<S>, keyof T>] extends [never, never]
      ? unknown
      : Mismatch<'they name different fields'>
    : Mismatch<'the type holds values the schema does not'>
  : Mismatch<'the schema holds values the type does not'>;

/**
 * The schema of an answer whose type is declared elsewhere (a domain type, a repository's
 * page): `describes<TunnelSession>()(z.object({...}))` fails to compile when the two drift
 * apart, so the documented answer is the one the code returns.
 */
export function describes<T>() {
  return <S extends z.ZodType>(schema: S & Describes<S, T>): S => schema;
}
