// Times as people read them: the instant, and how long ago.

/** "2026-12-06 09:41:07 UTC" */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return iso;
  return `${time.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** "3 min ago", "2 h ago", "5 d ago", from `now`. */
export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/** A trace viewer link for `traceId`: `{traceId}` in the configured template is replaced, else the id is appended. */
export function traceLink(template: string | undefined, traceId: string | null): string | undefined {
  if (!template || !traceId || !/^[0-9a-f]{32}$/i.test(traceId)) return undefined;
  return template.includes('{traceId}') ? template.replaceAll('{traceId}', traceId) : `${template.replace(/\/+$/, '')}/${traceId}`;
}
