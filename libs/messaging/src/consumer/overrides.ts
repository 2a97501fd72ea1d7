/**
 * Replaces methods on one object (not its class) and returns what puts them back: an own property
 * that was there is restored as it was, one that was not is deleted so the class's method shows
 * through again. The consumer uses it on the query runner a transaction holds.
 */
export function override<T extends object, K extends keyof T>(target: T, replacements: Pick<T, K>): () => void {
  const names = Object.keys(replacements) as K[];
  const own = names.map((name) => Object.getOwnPropertyDescriptor(target, name));
  Object.assign(target, replacements);
  return () => {
    names.forEach((name, index) => {
      const descriptor = own[index];
      if (descriptor) Object.defineProperty(target, name, descriptor);
      else delete target[name];
    });
  };
}
