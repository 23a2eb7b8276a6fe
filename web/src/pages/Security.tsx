/**
 * Security: your password and sessions, the account's API tokens (made, shown once, revoked) and its users
 * (disabled, enabled). Everything here is audited by the API.
 */
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { type ApiError, type ApiToken, api, type Session, type User } from "../api";
import { when } from "../labels";
import { Copyable, Loading, Notice, TextField } from "../ui";

function tokenState(t: ApiToken): string {
  if (t.revokedAt) return `revoked ${when(t.revokedAt)}`;
  if (t.expiresAt && new Date(t.expiresAt) <= new Date()) return "expired";
  return "working";
}

function PasswordForm(props: { onDone: (message: string) => void }) {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const mismatch = again !== "" && again !== next ? "The two new passwords differ" : undefined;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (mismatch) return;
    try {
      const r = await api<{ sessionsEnded: number }>("POST", "/session/password", {
        currentPassword: current,
        newPassword: next,
      });
      setCurrent("");
      setNext("");
      setAgain("");
      setError(null);
      props.onDone(
        `Password changed. ${r.sessionsEnded} other session${r.sessionsEnded === 1 ? "" : "s"} signed out.`,
      );
    } catch (err) {
      setError(err as ApiError);
    }
  };
  return (
    <form onSubmit={submit} aria-labelledby="password-title">
      <h2 id="password-title">Your password</h2>
      <TextField
        label="Current password"
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={setCurrent}
        error={error?.field("currentPassword")}
      />
      <TextField
        label="New password"
        type="password"
        autoComplete="new-password"
        value={next}
        onChange={setNext}
        hint="At least 12 characters. Your other sessions are signed out."
        error={error?.field("newPassword")}
      />
      <TextField
        label="New password again"
        type="password"
        autoComplete="new-password"
        value={again}
        onChange={setAgain}
        error={mismatch}
      />
      {error && !error.fields.length && <Notice kind="error">{error.message}</Notice>}
      <button type="submit" disabled={!current || !next || Boolean(mismatch)}>
        Change password
      </button>
    </form>
  );
}

export function Security(props: { session: Session; onSignedOut: () => void }) {
  const accountId = props.session.account.id;
  const [tokens, setTokens] = useState<ApiToken[] | null>(null);
  const [users, setUsers] = useState<User[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
  const [made, setMade] = useState<(ApiToken & { token: string }) | null>(null);

  const load = useCallback(async () => {
    try {
      const [t, u] = await Promise.all([
        api<{ items: ApiToken[] }>("GET", `/accounts/${accountId}/tokens`),
        api<{ items: User[] }>("GET", `/accounts/${accountId}/users`),
      ]);
      setTokens(t.items);
      setUsers(u.items);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [accountId]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: () => Promise<unknown>, done?: string) => {
    try {
      await what();
      setError(null);
      if (done) setMessage(done);
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const createToken = (e: FormEvent) => {
    e.preventDefault();
    void act(async () =>
      setMade(
        await api("POST", `/accounts/${accountId}/tokens`, {
          ...(name.trim() ? { name: name.trim() } : {}),
          expiresInDays: Number(days),
        }),
      ),
    );
  };
  const revoke = (t: ApiToken) => {
    if (!window.confirm(`Revoke the token “${t.name}”? Clients using it are refused at once.`)) return;
    void act(() => api("POST", `/accounts/${accountId}/tokens/${t.id}/revoke`), `Token “${t.name}” revoked.`);
  };
  const setDisabled = (u: User, disabled: boolean) => {
    if (
      disabled &&
      !window.confirm(`Disable ${u.login}? Their sessions end and their API tokens are revoked.`)
    )
      return;
    void act(
      () => api("POST", `/accounts/${accountId}/users/${u.id}/${disabled ? "disable" : "enable"}`),
      `${u.login} ${disabled ? "disabled" : "enabled"}.`,
    );
  };
  const signOutEverywhere = async () => {
    if (!window.confirm("Sign out of every session, this one included?")) return;
    await api("POST", "/session/sign-out-everywhere");
    props.onSignedOut();
  };

  return (
    <section aria-labelledby="security-title">
      <div className="page-head">
        <h1 id="security-title">Security</h1>
      </div>
      {message && <Notice kind="success">{message}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}

      {props.session.user && <PasswordForm onDone={setMessage} />}
      {props.session.user && (
        <div>
          <h2>Sessions</h2>
          <p className="muted">Signed in somewhere you should not be? End every session of yours at once.</p>
          <button type="button" className="secondary" onClick={signOutEverywhere}>
            Sign out everywhere
          </button>
        </div>
      )}

      <h2>API tokens</h2>
      <p className="muted">
        For scripts and the <code>ferry</code> command. A token is shown once, works until it expires, and can
        be revoked at any time.
      </p>
      {made && (
        <div className="secret-once" data-testid="token-once">
          <Notice kind="warning">
            Copy the token now: <strong>it will not be shown again</strong>.
          </Notice>
          <Copyable label="API token" value={made.token} />
        </div>
      )}
      <form onSubmit={createToken} className="inline-form">
        <TextField label="Token name" value={name} onChange={setName} placeholder="e.g. Nightly ETL" />
        <TextField label="Expires in days (1-365)" type="number" value={days} onChange={setDays} />
        <button type="submit">Create token</button>
      </form>
      {tokens === null ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="list" data-testid="tokens">
            <thead>
              <tr>
                <th>Name</th>
                <th>Starts with</th>
                <th>Last used</th>
                <th>Expires</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{when(t.lastUsedAt)}</td>
                  <td>{t.expiresAt ? when(t.expiresAt) : "never"}</td>
                  <td>{tokenState(t)}</td>
                  <td>
                    {!t.revokedAt && (
                      <button type="button" className="secondary small" onClick={() => revoke(t)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Users</h2>
      {users === null ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="list" data-testid="users">
            <thead>
              <tr>
                <th>Login</th>
                <th>Since</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>{u.login}</td>
                  <td>{when(u.createdAt)}</td>
                  <td>{u.disabledAt ? `disabled ${when(u.disabledAt)}` : "active"}</td>
                  <td>
                    {u.id !== props.session.user?.id && u.role !== "admin" && (
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() => setDisabled(u, !u.disabledAt)}
                      >
                        {u.disabledAt ? "Enable" : "Disable"}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
