/**
 * Security: your password and sessions, the account's API tokens (made, shown once, revoked) and its users
 * (added with a password shown once, given a role, disabled, enabled). The account's admins manage users and
 * every token; a member sees them, makes member tokens and revokes their own. Everything here is audited by
 * the API, which refuses what a role may not do whatever this page shows.
 */
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { type ApiError, type ApiToken, api, type Session, type User } from "../api";
import { when } from "../labels";
import { BusyButton, Copyable, Loading, Notice, SelectField, TextField, useOnce } from "../ui";

const ROLES: [string, string][] = [
  ["member", "Member: connections, credentials and files"],
  ["admin", "Admin: also users, API tokens and account settings"],
];
const roleLabel = (r: string) => (r === "admin" ? "admin" : "member");

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
  const [submit, changing] = useOnce(async (e: FormEvent) => {
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
  });
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
      <BusyButton
        type="submit"
        busy={changing}
        busyLabel="Changing…"
        disabled={!current || !next || Boolean(mismatch)}
      >
        Change password
      </BusyButton>
    </form>
  );
}

export function Security(props: { session: Session; onSignedOut: () => void }) {
  const accountId = props.session.account.id;
  const admin = props.session.accountRole === "admin";
  const me = props.session.user?.id;
  const [login, setLogin] = useState("");
  const [newRole, setNewRole] = useState("member");
  const [added, setAdded] = useState<(User & { password: string }) | null>(null);
  const [tokenRole, setTokenRole] = useState(props.session.accountRole);
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
  const [createToken, creatingToken] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    await act(async () =>
      setMade(
        await api("POST", `/accounts/${accountId}/tokens`, {
          ...(name.trim() ? { name: name.trim() } : {}),
          expiresInDays: Number(days),
          accountRole: tokenRole,
        }),
      ),
    );
  });
  const revoke = (t: ApiToken) => {
    if (!window.confirm(`Revoke the token “${t.name}”? Clients using it are refused at once.`)) return;
    void act(() => api("POST", `/accounts/${accountId}/tokens/${t.id}/revoke`), `Token “${t.name}” revoked.`);
  };
  const [addUser, adding] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    await act(async () => {
      setAdded(
        await api("POST", `/accounts/${accountId}/users`, { login: login.trim(), accountRole: newRole }),
      );
      setLogin("");
    });
  });
  const setRole = (u: User, accountRole: string) =>
    void act(
      () => api("PUT", `/accounts/${accountId}/users/${u.id}/role`, { accountRole }),
      `${u.login} is now ${accountRole === "admin" ? "an admin" : "a member"} of the account.`,
    );
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
        {admin && (
          <SelectField
            label="Token's role"
            value={tokenRole}
            onChange={(v) => setTokenRole(v as typeof tokenRole)}
            options={[
              ["admin", "Admin"],
              ["member", "Member"],
            ]}
          />
        )}
        <BusyButton type="submit" busy={creatingToken} busyLabel="Creating…">
          Create token
        </BusyButton>
      </form>
      {tokens === null ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="list" data-testid="tokens">
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
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
                  <td>{roleLabel(t.accountRole)}</td>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{when(t.lastUsedAt)}</td>
                  <td>{t.expiresAt ? when(t.expiresAt) : "never"}</td>
                  <td>{tokenState(t)}</td>
                  <td>
                    {!t.revokedAt && (admin || (me && t.userId === me)) && (
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
      {admin ? (
        <>
          {added && (
            <div className="secret-once" data-testid="password-once">
              <Notice kind="warning">
                {added.login} was added. Give them this password now:{" "}
                <strong>it will not be shown again</strong> (they can change it under Security).
              </Notice>
              <Copyable label="Password" value={added.password} />
            </div>
          )}
          <form onSubmit={addUser} className="inline-form" aria-label="Add a user">
            <TextField
              label="Login"
              value={login}
              onChange={setLogin}
              placeholder="e.g. jane@example.com"
              autoComplete="off"
            />
            <SelectField label="Role" value={newRole} onChange={setNewRole} options={ROLES} />
            <BusyButton type="submit" busy={adding} busyLabel="Adding…" disabled={!login.trim()}>
              Add user
            </BusyButton>
          </form>
        </>
      ) : (
        <p className="muted">The account's admins add users, change roles and disable users.</p>
      )}
      {users === null ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table className="list" data-testid="users">
            <thead>
              <tr>
                <th>Login</th>
                <th>Role</th>
                <th>Since</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td>{u.login}</td>
                  <td>
                    {admin && u.role !== "admin" ? (
                      <select
                        aria-label={`Role of ${u.login}`}
                        value={u.accountRole}
                        onChange={(e) => setRole(u, e.target.value)}
                      >
                        <option value="admin">admin</option>
                        <option value="member">member</option>
                      </select>
                    ) : (
                      roleLabel(u.accountRole) + (u.role === "admin" ? " (platform administrator)" : "")
                    )}
                  </td>
                  <td>{when(u.createdAt)}</td>
                  <td>{u.disabledAt ? `disabled ${when(u.disabledAt)}` : "active"}</td>
                  <td>
                    {admin && u.id !== me && u.role !== "admin" && (
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
