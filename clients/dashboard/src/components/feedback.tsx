// How pages say what is happening: errors with the API's message, loading, live updates.
import { useContext, useEffect, useRef, type ReactNode } from 'react';
import { LivePaused, POLL_INTERVAL_MS } from '../live.js';

export function ErrorNote({ message, title = 'The API answered with an error' }: { message: string | undefined; title?: string }) {
  if (!message) return null;
  return (
    <div className="error" role="alert">
      <strong>{title}:</strong> {message}
    </div>
  );
}

/** "Live: refreshed 09:41:07 every 5 s", or that it is paused. */
export function LiveStatus({ updatedAt, loading }: { updatedAt: Date | undefined; loading: boolean }) {
  const { paused } = useContext(LivePaused);
  const at = updatedAt ? updatedAt.toISOString().slice(11, 19) : '—';
  return (
    <p className="live-status">
      {paused ? `Live updates paused; last refreshed ${at} UTC.` : `Live: refreshed ${at} UTC, again every ${POLL_INTERVAL_MS / 1000} s.`}
      {loading ? ' Refreshing…' : ''}
    </p>
  );
}

/** The page's heading, focused when the page opens so keyboard and screen-reader users start there. */
export function PageHeading({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{status}</span>;
}
