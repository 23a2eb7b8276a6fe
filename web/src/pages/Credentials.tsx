/** Credentials: list, create, reset password (shown once), replace key, rename. */
import { useCallback, useEffect, useState } from "react";
import { all, api, type Credential } from "../api";
import { when } from "../labels";
import { CONNECTIONS } from "../paths";
import { Link } from "../router";
import { BusyButton, Loading, Notice, useOnce } from "../ui";
import { EditCredential } from "../wizard/credentials-step";
import { CredentialForm, type NewCredential, SecretOnce } from "./CredentialForm";

export function Credentials() {
  const [items, setItems] = useState<Credential[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [draft, setDraft] = useState<NewCredential>({ name: "", kind: "public_key", publicKey: "" });
  const [shown, setShown] = useState<Credential | null>(null);
  const [editing, setEditing] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setItems(await all<Credential>("/credentials"));
    } catch (e) {
      setError((e as Error).message);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  const [resetting, setResetting] = useState<string | null>(null);
  const [reset] = useOnce(async (c: Credential) => {
    if (!window.confirm(`Reset the password of “${c.name}”? Clients using the old one will be refused.`))
      return;
    setResetting(c.id);
    try {
      setShown(await api<Credential>("POST", `/credentials/${c.id}/reset-password`));
      setEditing(null);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setResetting(null);
    }
  });

  return (
    <section aria-labelledby="credentials-title">
      <div className="page-head">
        <h1 id="credentials-title">Credentials</h1>
        {!creating && (
          <button
            type="button"
            onClick={() => {
              setCreating(true);
              setShown(null);
            }}
          >
            Create Credential
          </button>
        )}
      </div>
      <p className="muted">
        What SFTP and FTP clients log in to Ferry with: a generated password or your SSH public key. One
        credential can serve several connections.
      </p>
      {error && <Notice kind="error">{error}</Notice>}
      {shown && (
        <div className="card">
          <h2>{shown.name}</h2>
          <SecretOnce credential={shown} />
          <button type="button" className="secondary" onClick={() => setShown(null)}>
            I have stored it
          </button>
        </div>
      )}
      {creating && (
        <div className="card">
          <h2>New credential</h2>
          <CredentialForm
            value={draft}
            onChange={setDraft}
            onCreated={(c) => {
              setCreating(false);
              setDraft({ name: "", kind: "public_key", publicKey: "" });
              if (c.password) setShown(c);
              void load();
            }}
          />
          <button type="button" className="secondary" onClick={() => setCreating(false)}>
            Cancel
          </button>
        </div>
      )}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <Notice kind="info">No credentials yet.</Notice>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="list" data-testid="credentials">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Kind</th>
                <th scope="col">Username / key</th>
                <th scope="col">Used by</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.id} id={c.id}>
                  <td data-label="Name">{c.name}</td>
                  <td data-label="Kind">{c.kind === "password" ? "Password" : "Public Key"}</td>
                  <td data-label="Username / key">
                    <code>{c.username}</code>
                    {c.fingerprint && (
                      <div className="muted small">
                        {c.keyType} {c.fingerprint}
                      </div>
                    )}
                    {c.maxSessions !== null && (
                      <div className="muted small">up to {c.maxSessions} sessions at once</div>
                    )}
                  </td>
                  <td data-label="Used by">
                    {c.usedBy.length === 0 && <span className="muted">no connection</span>}
                    {c.usedBy.map((u) => (
                      <div key={u.id}>
                        <Link href={`${CONNECTIONS}/${u.id}`}>{u.name}</Link>
                      </div>
                    ))}
                  </td>
                  <td data-label="Last used">{when(c.lastUsedAt)}</td>
                  <td className="actions">
                    {editing === c.id ? (
                      <EditCredential
                        credential={c}
                        onDone={(updated) => {
                          setEditing(null);
                          if (updated) void load();
                        }}
                      />
                    ) : (
                      <>
                        <button type="button" className="link" onClick={() => setEditing(c.id)}>
                          {c.kind === "public_key" ? "Rename / replace key" : "Rename"}
                        </button>
                        {c.kind === "password" && (
                          <BusyButton
                            className="link"
                            onClick={() => reset(c)}
                            busy={resetting === c.id}
                            busyLabel="Resetting…"
                          >
                            Reset password
                          </BusyButton>
                        )}
                      </>
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
