import type { z } from 'zod';

type Mismatch<Message extends string> = { 'the schema and the type differ': Message };

/** A type as JSON carries it: `readonly` says nothing on the wire. */
type Writable<T> = T extends readonly (infer Item)[] ? Writable<Item>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T;

/** `unknown` when a schema's output and a type describe the same object; a named mismatch otherwise. */
export type Describes<S extends z.ZodType, T> = SameShape<z.output<S>, Writable<T>>;

type SameShape<Out, T> = [Out] extends [T]
  ? [T] extends [Out]
    ? [Exclude<keyof T, keyof Out>, Exclude<keyof Out, keyof T>] extends [never, never]
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
