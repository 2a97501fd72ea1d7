// Live updates: each page polls what it shows every few seconds while the tab is visible, and
// says so. Operators can pause it (content that changes by itself must be stoppable).
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { describeError } from './lib/errors.js';

export const POLL_INTERVAL_MS = 5_000;
/** For what costs the API more to answer (the planner's whole fleet). */
export const SLOW_POLL_INTERVAL_MS = 30_000;

export const LivePaused = createContext<{ paused: boolean; setPaused: (paused: boolean) => void }>({ paused: false, setPaused: () => undefined });

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  updatedAt: Date | undefined;
  reload: () => void;
}

/**
 * Loads with `load` now and whenever `key` changes, then again every `intervalMs` (false: never)
 * unless live updates are paused or the tab is hidden. An answer for an older key is dropped.
 */
export function usePolled<T>(key: string, load: () => Promise<T>, intervalMs: number | false = POLL_INTERVAL_MS): Loaded<T> {
  const { paused } = useContext(LivePaused);
  const [state, setState] = useState<{ key: string; data?: T; error?: string; updatedAt?: Date }>({ key });
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const run = useCallback(() => {
    const mine = ++generation.current;
    setLoading(true);
    loadRef.current().then(
      (data) => {
        if (mine === generation.current) setState({ key, data, updatedAt: new Date() });
      },
      (error: unknown) => {
        // Keep what was shown: the error says the latest refresh failed.
        if (mine === generation.current) setState((previous) => ({ ...(previous.key === key ? previous : { key }), error: describeError(error) }));
      },
    ).finally(() => {
      if (mine === generation.current) setLoading(false);
    });
  }, [key]);

  useEffect(() => {
    run();
  }, [run]);

  useEffect(() => {
    if (intervalMs === false || paused) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') run();
    }, intervalMs);
    return () => clearInterval(timer);
  }, [run, intervalMs, paused]);

  const current = state.key === key ? state : { key };
  return { data: current.data, error: current.error, loading, updatedAt: current.updatedAt, reload: run };
}
