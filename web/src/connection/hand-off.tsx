/**
 * What to give the partner who sets up the SFTP/FTP client: host, port, username, the folder to upload to (or
 * download from), the credential by name with a link, and "Copy all" as one block of text. A lost password
 * is reset right here, saying which other connections use the same credential (they change too).
 */
import { useEffect, useState } from "react";
import { api, type Connection, type Credential } from "../api";
import { METHODS } from "../labels";
import { SecretOnce } from "../pages/CredentialForm";
import { CREDENTIALS } from "../paths";
import { Link } from "../router";
import { BusyButton, CopyButton, Notice, useOnce } from "../ui";

/** The block "Copy all" copies: what a partner types into their client. */
function handOffText(c: Connection, login: NonNullable<Connection["login"]>, credential: Credential | null) {
  const secret =
    credential?.kind === "public_key"
      ? `SSH key ${credential.fingerprint ?? ""} (the private key stays with you)`
      : "the password shown when the credential was made or last reset";
  return [
    `Protocol: ${METHODS[c.method]}${c.method === "ftp" ? " (explicit TLS)" : ""}`,
    `Host: ${login.host}`,
    `Port: ${login.port}`,
    `Username: ${login.username}`,
    `${credential?.kind === "public_key" ? "Key" : "Password"}: ${secret}`,
    `${c.direction === "inbound" ? "Upload files to" : "Download files from"}: ${login.path}`,
    ...(c.direction === "inbound" ? [`Results appear in: /${c.folder}/results/`] : []),
  ].join("\n");
}

export function HandOff(props: { connection: Connection; credential?: Credential | null }) {
  const c = props.connection;
  const login = c.login;
  const [credential, setCredential] = useState<Credential | null>(props.credential ?? null);
  const [reset, setReset] = useState<Credential | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    if (props.credential || !c.credentialId) return;
    api<Credential>("GET", `/credentials/${c.credentialId}`).then(setCredential, (e) =>
      setFailure((e as Error).message),
    );
  }, [c.credentialId, props.credential]);

  const others = credential?.usedBy.filter((u) => u.id !== c.id) ?? [];
  const [resetPassword, resetting] = useOnce(async () => {
    if (!credential) return;
    const also = others.length
      ? ` It also changes for ${others.map((o) => `“${o.name}”`).join(", ")}: their clients need the new one too.`
      : "";
    if (
      !window.confirm(
        `Reset the password of “${credential.name}”? Clients using the old one are refused.${also}`,
      )
    )
      return;
    try {
      setReset(await api<Credential>("POST", `/credentials/${credential.id}/reset-password`));
      setFailure(null);
    } catch (e) {
      setFailure((e as Error).message);
    }
  });
  if (!login) return null;
  const text = handOffText(c, login, credential);
  return (
    <div className="card hand-off" data-testid="hand-off">
      <div className="page-head">
        <h2>For your partner's {METHODS[c.method]} client</h2>
        <span data-copy="Connection details" hidden>
          {text}
        </span>
        <CopyButton value={text} label="Connection details" text="Copy all" />
      </div>
      <dl className="summary">
        <div>
          <dt>Host</dt>
          <dd>
            <code>{login.host}</code>
          </dd>
        </div>
        <div>
          <dt>Port</dt>
          <dd>
            <code>{login.port}</code>
          </dd>
        </div>
        <div>
          <dt>Username</dt>
          <dd>
            <code>{login.username}</code>
          </dd>
        </div>
        <div>
          <dt>{c.direction === "inbound" ? "Upload to" : "Download from"}</dt>
          <dd>
            <code>{login.path}</code>
          </dd>
        </div>
        <div>
          <dt>Credential</dt>
          <dd>
            {credential ? (
              <>
                <Link href={`${CREDENTIALS}#${credential.id}`}>{credential.name}</Link>{" "}
                <span className="muted">
                  (
                  {credential.kind === "password" ? "password" : `public key ${credential.fingerprint ?? ""}`}
                  {others.length > 0 && `; also used by ${others.map((o) => o.name).join(", ")}`})
                </span>
              </>
            ) : (
              "…"
            )}
          </dd>
        </div>
      </dl>
      {credential?.kind === "password" && !reset && !props.credential?.password && (
        <p className="row">
          <span className="muted">Password lost? It is never shown again, but a new one can be made:</span>
          <BusyButton
            className="secondary small"
            onClick={resetPassword}
            busy={resetting}
            busyLabel="Resetting…"
          >
            {`Reset password of ${credential.name}${others.length ? ` (used by ${others.length + 1} connections)` : ""}`}
          </BusyButton>
        </p>
      )}
      {reset && <SecretOnce credential={reset} />}
      {failure && <Notice kind="error">{failure}</Notice>}
    </div>
  );
}
