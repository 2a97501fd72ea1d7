// The API token of this browser tab: kept in sessionStorage, so it goes with the tab and is
// never written to disk by the dashboard. A refused token (401) ends the session with a message
// the sign-in page shows.
import { readToken, type TokenFacts } from '../lib/token.js';

const TOKEN_KEY = 'flotilla.token';
const ENDED_KEY = 'flotilla.session-ended';

export interface Session extends TokenFacts {
  token: string;
}

type Listener = (session: Session | null) => void;
const listeners = new Set<Listener>();

export function currentSession(): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  const facts = readToken(token) ?? { subject: null, role: null, expiresAt: null };
  return { token, ...facts };
}

export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  sessionStorage.removeItem(ENDED_KEY);
  notify();
}

/** Forgets the token; `why` is shown on the sign-in page. */
export function signOut(why?: string): void {
  sessionStorage.removeItem(TOKEN_KEY);
  if (why) sessionStorage.setItem(ENDED_KEY, why);
  notify();
}

/** Why the last session ended (once: reading it clears it). */
export function takeEndedReason(): string | null {
  const why = sessionStorage.getItem(ENDED_KEY);
  sessionStorage.removeItem(ENDED_KEY);
  return why;
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  const session = currentSession();
  for (const listener of listeners) listener(session);
}
