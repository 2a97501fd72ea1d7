// Calls Flotilla's API at the address the dashboard is served from, with the session's bearer
// token. Error answers become ApiError with the API's own message; a 401 ends the session.
import { ApiError, errorFromAnswer } from '../lib/errors.js';
import { currentSession, signOut } from './session.js';

export type Query = Record<string, string | number | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** The answer to `path`, or an ApiError. `token` signs in with a token not yet kept. */
export async function request(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const { token: given, ...options } = init;
  const token = given ?? currentSession()?.token;
  const headers = new Headers(options.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  headers.set('accept', headers.get('accept') ?? 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...options, headers, credentials: 'omit', cache: 'no-store' });
  } catch (error) {
    throw new ApiError(0, `The API at ${location.origin} did not answer (${error instanceof Error ? error.message : String(error)})`);
  }
  if (response.ok) return response;
  const failure = errorFromAnswer(response.status, response.statusText, await response.text());
  if (response.status === 401 && given === undefined) signOut(`Signed out: the API refused the token (${failure.message}). Sign in with a valid token.`);
  throw failure;
}

export async function getJson<T>(path: string, query?: Query): Promise<T> {
  return (await request(withQuery(path, query))).json() as Promise<T>;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return response.json() as Promise<T>;
}
