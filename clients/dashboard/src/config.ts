// Settings of the place the dashboard is served from, read at start from /config.json (the entry
// point writes it): none is required.
export interface DashboardConfig {
  /** A trace viewer's URL for one trace, `{traceId}` standing for the id (e.g. Jaeger's http://localhost:16686/trace/{traceId}). */
  traceViewerUrl?: string;
}

export async function loadConfig(): Promise<DashboardConfig> {
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (!response.ok) return {};
    const body = (await response.json()) as unknown;
    if (typeof body !== 'object' || body === null) return {};
    const url = (body as Record<string, unknown>)['traceViewerUrl'];
    return typeof url === 'string' && /^https?:\/\//.test(url) ? { traceViewerUrl: url } : {};
  } catch {
    return {};
  }
}
