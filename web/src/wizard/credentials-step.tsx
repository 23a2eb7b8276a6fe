/** The Credentials step: choose a credential or create one in place; editing a credential. */
import { useState } from "react";
import { ApiError, api, type Credential } from "../api";
import { METHODS, needsCredential } from "../labels";
import { CredentialForm, PublicKeyField, SecretOnce } from "../pages/CredentialForm";
import { Notice, SelectField, TextField } from "../ui";
import type { StepProps } from "./state";

export function CredentialsStep(
  props: StepProps & {
    credentials: Credential[];
    created: Credential | null;
    /** What creating the new credential (the wizard's Next) said: null, nothing wrong. */
    creationError: ApiError | null;
    onEdited: (c: Credential) => void;
  },
) {
  const { s, set, errors } = props;
  const [editing, setEditing] = useState(false);
  // The wizard passes the step over where the method needs no credential.
  if (!needsCredential(s.method, s.methodology)) return null;
  const chosen = props.credentials.find((c) => c.id === s.credentialId);
  return (
    <>
      <p className="muted">
        Your {METHODS[s.method]} client logs in to Ferry with a credential. One credential can serve several
        connections.
      </p>
      <fieldset>
        <legend>Credential</legend>
        <label className="radio">
          <input
            type="radio"
            name="credentialMode"
            checked={s.credentialMode === "existing"}
            onChange={() => set({ credentialMode: "existing" })}
          />
          Use an existing credential
        </label>
        <label className="radio">
          <input
            type="radio"
            name="credentialMode"
            checked={s.credentialMode === "new"}
            onChange={() => set({ credentialMode: "new" })}
          />
          Create a new credential
        </label>
      </fieldset>
      {props.created && props.created.id === s.credentialId && props.created.password && (
        <SecretOnce credential={props.created} />
      )}
      {s.credentialMode === "existing" && (
        <>
          <SelectField
            label="Existing credential"
            value={s.credentialId}
            onChange={(credentialId) => {
              set({ credentialId });
              setEditing(false);
            }}
            options={[
              ["", props.credentials.length ? "Choose…" : "No credentials yet: create one"],
              ...props.credentials.map((c): [string, string] => [
                c.id,
                `${c.name} — ${c.kind === "password" ? "password" : "public key"}, ${c.username}`,
              ]),
            ]}
            error={errors.credentialId}
          />
          {chosen && !editing && (
            <button type="button" className="secondary small" onClick={() => setEditing(true)}>
              Edit credential
            </button>
          )}
          {chosen && editing && (
            <EditCredential
              credential={chosen}
              onDone={(c) => {
                if (c) props.onEdited(c);
                setEditing(false);
              }}
            />
          )}
        </>
      )}
      {s.credentialMode === "new" && (
        <>
          <CredentialForm
            value={s.newCredential}
            onChange={(newCredential) => set({ newCredential })}
            onCreated={() => {}}
            error={props.creationError}
          />
          <p className="muted">Next creates it.</p>
          {errors.credentialId && (
            <div className="error" role="alert">
              {errors.credentialId}
            </div>
          )}
        </>
      )}
    </>
  );
}

/** Rename a credential, replace its public key, or set how many sessions it may have at once. */
export function EditCredential(props: { credential: Credential; onDone: (c: Credential | null) => void }) {
  const [name, setName] = useState(props.credential.name);
  const [publicKey, setPublicKey] = useState("");
  const [sessions, setSessions] = useState(props.credential.maxSessions?.toString() ?? "");
  const [error, setError] = useState<ApiError | null>(null);
  const save = async () => {
    if (sessions.trim() && !/^\d+$/.test(sessions.trim())) {
      setError(
        new ApiError(400, "VALIDATION_FAILED", "", [
          { path: "maxSessions", message: "must be a whole number from 1 to 256, or empty" },
        ]),
      );
      return;
    }
    try {
      const body = {
        name,
        maxSessions: sessions.trim() ? Number(sessions.trim()) : null,
        ...(publicKey.trim() ? { publicKey } : {}),
      };
      props.onDone(await api<Credential>("PATCH", `/credentials/${props.credential.id}`, body));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, "ERROR", String(e)));
    }
  };
  return (
    <div className="inline-edit">
      <TextField label="Credential name" value={name} onChange={setName} error={error?.field("name")} />
      {props.credential.kind === "public_key" && (
        <PublicKeyField value={publicKey} onChange={setPublicKey} serverError={error?.field("publicKey")} />
      )}
      <TextField
        label="Sessions at once"
        type="number"
        value={sessions}
        onChange={setSessions}
        error={error?.field("maxSessions")}
        hint="How many SFTP/FTP sessions this login may have open together (parallel tools open one per transfer). Empty: the server's default."
      />
      {error && !error.fields.length && <Notice kind="error">{error.message}</Notice>}
      <div className="row">
        <button type="button" onClick={save}>
          Save credential
        </button>
        <button type="button" className="secondary" onClick={() => props.onDone(null)}>
          Cancel
        </button>
      </div>
    </div>
  );
}
