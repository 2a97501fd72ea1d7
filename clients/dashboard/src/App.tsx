import { useEffect, useState, type ReactNode } from 'react';
import { currentSession, onSessionChange, signOut, type Session } from './api/session.js';
import type { DashboardConfig } from './config.js';
import { roleAllows } from './lib/token.js';
import { LivePaused } from './live.js';
import { AuditLogPage } from './pages/AuditLog.js';
import { ClusterListPage } from './pages/ClusterList.js';
import { ClusterPage } from './pages/ClusterPage.js';
import { CreateClusterPage } from './pages/CreateCluster.js';
import { OverviewPage } from './pages/Overview.js';
import { SignInPage } from './pages/SignIn.js';
import { PlanPage, UpgradePlansPage } from './pages/UpgradePlans.js';
import { Link, navigate, useLocation } from './router.js';

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/clusters', label: 'Clusters' },
  { to: '/upgrade-plans', label: 'Upgrade plans' },
  { to: '/audit', label: 'Audit log' },
];

export function App({ config }: { config: DashboardConfig }) {
  const [session, setSession] = useState<Session | null>(() => currentSession());
  const [paused, setPaused] = useState(false);
  const url = useLocation();
  useEffect(() => onSessionChange(setSession), []);

  if (!session) {
    return (
      <>
        <Header />
        <SignInPage onSignedIn={() => navigate(url.pathname === '/sign-in' ? '/' : `${url.pathname}${url.search}`, true)} />
      </>
    );
  }
  const path = url.pathname;
  const role = session.role;
  return (
    <LivePaused.Provider value={{ paused, setPaused }}>
      <a className="skip" href="#main">
        Skip to the content
      </a>
      <Header>
        <nav aria-label="Dashboard">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={(item.to === '/' ? path === '/' : path.startsWith(item.to)) ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="session">
          <span>
            Signed in as {session.subject ?? 'an unnamed caller'}
            {role ? ` (${role})` : ''}
          </span>
          <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused}>
            {paused ? 'Resume live updates' : 'Pause live updates'}
          </button>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </Header>
      <Page path={path} role={role} config={config} />
    </LivePaused.Provider>
  );
}

function Header({ children }: { children?: ReactNode }) {
  return (
    <header className="top">
      <p className="brand">Flotilla</p>
      {children}
    </header>
  );
}

/** A path segment as written; a malformed escape is kept as it is rather than breaking the page. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function Page({ path, role, config }: { path: string; role: Session['role']; config: DashboardConfig }) {
  const segments = path.split('/').filter(Boolean).map(decodeSegment);
  const [first, second] = segments;
  if (segments.length === 0) return <OverviewPage />;
  if (first === 'clusters' && second === undefined) return <ClusterListPage canCreate={roleAllows(role, 'operator')} />;
  if (first === 'clusters' && second !== undefined && segments.length === 2) {
    return <ClusterPage key={second} id={second} canDownloadKubeconfig={roleAllows(role, 'operator')} traceViewerUrl={config.traceViewerUrl} />;
  }
  if (first === 'create-cluster') return <CreateClusterPage />;
  if (first === 'upgrade-plans' && second === undefined) return <UpgradePlansPage canPlan={roleAllows(role, 'operator')} />;
  if (first === 'upgrade-plans' && second !== undefined && segments.length === 2) return <PlanPage key={second} id={second} />;
  if (first === 'audit') return <AuditLogPage traceViewerUrl={config.traceViewerUrl} />;
  return (
    <main id="main">
      <h1>Not found</h1>
      <p>
        The dashboard has no page at {path}. <Link to="/">Go to the overview</Link>.
      </p>
    </main>
  );
}
