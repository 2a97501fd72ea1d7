/** A column of a table: its header and how a row shows in it. */
export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

/**
 * Rows as kubectl prints them: upper-case headers, columns left-aligned and three spaces apart,
 * no trailing spaces. Empty values show as `<none>`.
 */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) => columns.map((column) => column.value(row) || '<none>'));
  return renderCells(
    columns.map((column) => column.header.toUpperCase()),
    cells,
  );
}

/** Header and cells already as text, aligned the same way. */
export function renderCells(headers: readonly string[], cells: readonly (readonly string[])[]): string {
  const widths = headers.map((header, index) => Math.max(header.length, ...cells.map((row) => (row[index] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, index) => (index === values.length - 1 ? value : value.padEnd(widths[index]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/**
 * How long ago, in kubectl's short form: 42s, 5m, 3h, 2d, 1y (two units while that stays short:
 * 2m30s, 3h12m, 4d5h).
 */
export function age(since: string | Date, now: Date = new Date()): string {
  const start = typeof since === 'string' ? new Date(since) : since;
  if (Number.isNaN(start.getTime())) return '<unknown>';
  const elapsed = now.getTime() - start.getTime();
  return elapsed < 1000 ? '0s' : duration(elapsed);
}

/** A duration in milliseconds, short: 350ms, 42s, 2m30s, 3h12m, 4d5h, 1y. */
export function duration(milliseconds: number): string {
  if (milliseconds < 1000) return `${Math.round(milliseconds)}ms`;
  const seconds = Math.floor(milliseconds / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  return `${Math.floor(days / 365)}y`;
}
