import { useState, type FormEvent } from 'react';
import { request } from '../api/client.js';
import { signIn, takeEndedReason } from '../api/session.js';
import { ErrorNote, PageHeading } from '../components/feedback.js';
import { describeError } from '../lib/errors.js';

/** Sign-in with an API token: checked against the API before it is kept. */
export function SignInPage({ onSignedIn }: { onSignedIn: () => void }) {
  const [ended] = useState(() => takeEndedReason());
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('token: paste an API token (npm start keeps one in .data/admin-token; POST /api/v1/tokens makes more)');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await request('/api/v1/clusters?limit=1', { token: value });
      signIn(value);
      onSignedIn();
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" className="sign-in">
      <PageHeading>Sign in to the Flotilla fleet dashboard</PageHeading>
      {ended ? (
        <p className="notice" role="status">
          {ended}
        </p>
      ) : null}
      <form onSubmit={(event) => void submit(event)} noValidate>
        <label htmlFor="token">API token</label>
        <p id="token-help" className="help">
          A Flotilla or OIDC bearer token. It is kept in this tab only (session storage) and sent to the API at this address.
        </p>
        <input id="token" name="token" type="password" autoComplete="off" aria-describedby="token-help" value={token} onChange={(event) => setToken(event.target.value)} />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <ErrorNote title="Not signed in" message={error} />
    </main>
  );
}
