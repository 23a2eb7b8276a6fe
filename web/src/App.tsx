/** The shell: who is signed in, the navigation, and which page the path shows. */
import { type ReactNode, useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, type Session, whenSignedOut } from "./api";
import { AccountPage } from "./pages/AccountPage";
import { AuditPage } from "./pages/AuditPage";
import { ConnectionPage } from "./pages/ConnectionPage";
import { Connections } from "./pages/Connections";
import { Credentials } from "./pages/Credentials";
import { PgpKeys } from "./pages/PgpKeys";
import { Security } from "./pages/Security";
import { SignIn } from "./pages/SignIn";
import { Webhooks } from "./pages/Webhooks";
import { Wizard } from "./pages/Wizard";
import { ACCOUNT, AUDIT, CONNECTIONS, CREDENTIALS, PGP_KEYS, SECURITY, WEBHOOKS } from "./paths";
import { Link, match, navigate, usePath } from "./router";
import { Loading, Notice } from "./ui";

function Redirect(props: { to: string }) {
  useEffect(() => navigate(props.to, true), [props.to]);
  return null;
}

/**
 * Every route names the tab after its page's heading ("Orders from shop · Ferry"), and after a navigation
 * moves the focus to that heading, so a screen reader says where it landed and Tab goes on from there. Pages
 * that load first show their heading a moment later: it is waited for (2 s at most).
 */
function useRouteHeading(path: string, ready: boolean): void {
  const navigated = useRef(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: each new path is a new page to announce.
  useEffect(() => {
    if (!ready) return;
    const moveFocus = navigated.current;
    navigated.current = true;
    let tries = 0;
    const timer = setInterval(() => {
      const h1 = document.querySelector<HTMLElement>("main h1");
      if (!h1?.textContent && ++tries < 40) return;
      clearInterval(timer);
      document.title = h1?.textContent ? `${h1.textContent.trim()} · Ferry` : "Ferry";
      // A page that placed the focus itself (the wizard on its step) keeps it.
      const placed = document.querySelector("main")?.contains(document.activeElement);
      if (h1 && moveFocus && !placed) {
        h1.tabIndex = -1;
        h1.focus();
      }
    }, 50);
    return () => clearInterval(timer);
  }, [path, ready]);
}

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const path = usePath();
  useRouteHeading(path, Boolean(session));

  const load = useCallback(async () => {
    try {
      setSession(await api<Session>("GET", "/session"));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setSession(null);
      else setError(e instanceof Error ? e.message : String(e));
    }
  }, []);
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    void load();
  }, [load]);

  if (error) return <Notice kind="error">{error}</Notice>;
  if (session === undefined) return <Loading />;
  if (session === null) return <SignIn onSignedIn={setSession} />;

  const signOut = async () => {
    await api("DELETE", "/session");
    setSession(null);
    navigate("/", true);
  };

  let page: ReactNode;
  const connection = match(`${CONNECTIONS}/:id`, path);
  if (["/", "/signin", "/settings", "/settings/technical"].includes(path))
    page = <Redirect to={CONNECTIONS} />;
  else if (match(CONNECTIONS, path)) page = <Connections />;
  else if (match(`${CONNECTIONS}/new`, path)) page = <Wizard session={session} />;
  else if (connection) page = <ConnectionPage id={connection.id!} session={session} />;
  else if (match(CREDENTIALS, path)) page = <Credentials />;
  else if (match(ACCOUNT, path))
    page = (
      <AccountPage
        session={session}
        onAccountChanged={(a) =>
          setSession({
            ...session,
            account: { ...session.account, name: a.name, timeZone: a.timeZone, currency: a.currency },
          })
        }
      />
    );
  else if (match(AUDIT, path)) page = <AuditPage />;
  else if (match(WEBHOOKS, path)) page = <Webhooks session={session} />;
  else if (match(PGP_KEYS, path)) page = <PgpKeys session={session} />;
  else if (match(SECURITY, path))
    page = (
      <Security
        session={session}
        onSignedOut={() => {
          setSession(null);
          navigate("/", true);
        }}
      />
    );
  else
    page = (
      <Notice kind="warning">
        This page does not exist. <Link href={CONNECTIONS}>Go to your connections</Link>.
      </Notice>
    );

  const section = path.startsWith(CREDENTIALS)
    ? "credentials"
    : path.startsWith(SECURITY)
      ? "security"
      : path.startsWith(WEBHOOKS)
        ? "webhooks"
        : path.startsWith(PGP_KEYS)
          ? "pgp"
          : path.startsWith(AUDIT)
            ? "audit"
            : path.startsWith(ACCOUNT)
              ? "account"
              : "connections";
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          Ferry <span className="account">{session.account.name}</span>
        </div>
        <nav aria-label="Settings">
          <Link href={CONNECTIONS} aria-current={section === "connections" ? "page" : undefined}>
            Connections
          </Link>
          <Link href={CREDENTIALS} aria-current={section === "credentials" ? "page" : undefined}>
            Credentials
          </Link>
          <Link href={SECURITY} aria-current={section === "security" ? "page" : undefined}>
            Security
          </Link>
          <Link href={PGP_KEYS} aria-current={section === "pgp" ? "page" : undefined}>
            PGP keys
          </Link>
          <Link href={WEBHOOKS} aria-current={section === "webhooks" ? "page" : undefined}>
            Notifications
          </Link>
          <Link href={ACCOUNT} aria-current={section === "account" ? "page" : undefined}>
            Account
          </Link>
          <Link href={AUDIT} aria-current={section === "audit" ? "page" : undefined}>
            Audit log
          </Link>
        </nav>
        <div className="who">
          <span className="muted">{session.user?.login}</span>
          <button type="button" className="secondary small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <nav className="crumbs muted" aria-label="Breadcrumb">
          <Link href={CONNECTIONS}>Settings</Link> ›{" "}
          {section === "account" || section === "audit" ? (
            <Link href={ACCOUNT}>Account</Link>
          ) : (
            <Link href={CONNECTIONS}>Technical</Link>
          )}
        </nav>
        {page}
      </main>
    </div>
  );
}
