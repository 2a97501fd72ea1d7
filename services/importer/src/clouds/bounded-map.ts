/**
 * Sets `key` in a map kept to `max` entries: a key not there yet pushes out the oldest one (a Map
 * keeps insertion order). The importer's caches of clients, answers and times use it, so that no
 * count of accounts, places or clusters can grow them without bound.
 */
export function setAtMost<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
