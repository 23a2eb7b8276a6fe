/** Creating a credential (Public Key or Password) and showing a generated password once: wizard and Credentials page. */
import { useEffect, useId, useRef, useState } from "react";
import { ApiError, api, type Credential } from "../api";
import { BusyButton, Copyable, Field, Notice, TextField, useOnce } from "../ui";

interface KeyCheck {
  keyType: string;
  keyBits: number;
  fingerprint: string;
}

/** Live validation of a pasted public key: the key's type and fingerprint, or what is wrong with it. */
export function useKeyCheck(key: string): {
  check: KeyCheck | null;
  error: string | null;
  checking: boolean;
} {
  const [state, setState] = useState<{ check: KeyCheck | null; error: string | null; checking: boolean }>({
    check: null,
    error: null,
    checking: false,
  });
  useEffect(() => {
    if (!key.trim()) {
      setState({ check: null, error: null, checking: false });
      return;
    }
    setState((s) => ({ ...s, checking: true }));
    let live = true;
    const timer = setTimeout(async () => {
      try {
        const check = await api<KeyCheck>("POST", "/credentials/check-key", { publicKey: key });
        if (live) setState({ check, error: null, checking: false });
      } catch (e) {
        if (live)
          setState({
            check: null,
            error: e instanceof ApiError ? (e.field("publicKey") ?? e.message) : String(e),
            checking: false,
          });
      }
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key]);
  return state;
}

export function PublicKeyField(props: {
  value: string;
  onChange: (v: string) => void;
  serverError?: string;
}) {
  const { check, error, checking } = useKeyCheck(props.value);
  return (
    <Field
      label="Public key"
      error={error ?? props.serverError}
      hint={
        check ? (
          <span className="ok" data-testid="key-fingerprint">
            Valid {check.keyType} key ({check.keyBits} bits), fingerprint <code>{check.fingerprint}</code>
          </span>
        ) : checking ? (
          "Checking…"
        ) : (
          "Paste the public key (ssh-ed25519, ecdsa-sha2-*, or ssh-rsa of 2048 bits or more), e.g. the content of ~/.ssh/id_ed25519.pub"
        )
      }
    >
      {(id, describedBy) => (
        <textarea
          id={id}
          rows={4}
          spellCheck={false}
          value={props.value}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

/** The username and generated password, shown once. */
/** A new or reset credential's secret, shown once; it takes the focus (a screen reader reads it out). */
export function SecretOnce(props: { credential: Credential }) {
  const c = props.credential;
  const box = useRef<HTMLElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new secret (another password) takes it again.
  useEffect(() => box.current?.focus(), [c.password, c.id]);
  return (
    <section
      className="secret-once"
      data-testid="secret-once"
      ref={box}
      tabIndex={-1}
      aria-label={`${c.password ? "Password" : "Username"} of ${c.name}, shown once`}
    >
      <Notice kind="warning">
        Copy the password now: <strong>it will not be shown again</strong>. If it is lost, reset the password
        on the Credentials page.
      </Notice>
      <Copyable label="Username" value={c.username} />
      {c.password && <Copyable label="Password" value={c.password} />}
    </section>
  );
}

export interface NewCredential {
  name: string;
  kind: "password" | "public_key";
  publicKey: string;
}

/** Creates a credential (the API checks it): what the form and the wizard's Next both do. */
export async function createCredential(v: NewCredential): Promise<Credential> {
  if (!v.name.trim())
    throw new ApiError(400, "VALIDATION_FAILED", "Give the credential a name", [
      { path: "name", message: "Give the credential a name" },
    ]);
  try {
    return await api<Credential>("POST", "/credentials", {
      name: v.name.trim(),
      kind: v.kind,
      ...(v.kind === "public_key" ? { publicKey: v.publicKey } : {}),
    });
  } catch (e) {
    throw e instanceof ApiError ? e : new ApiError(0, "ERROR", String(e));
  }
}

/**
 * A new credential's name, kind and key. On its own (the Credentials page) it has its Create button; in the
 * wizard (`error` given) the wizard's Next creates it and passes back what the API said.
 */
export function CredentialForm(props: {
  value: NewCredential;
  onChange: (v: NewCredential) => void;
  onCreated: (c: Credential) => void;
  /** In the wizard: what creating it said (null: nothing wrong); the form then has no button of its own. */
  error?: ApiError | null;
}) {
  const v = props.value;
  const inWizard = props.error !== undefined;
  const [own, setError] = useState<ApiError | null>(null);
  const error = inWizard ? props.error : own;
  const groupId = useId();
  const [create, busy] = useOnce(async () => {
    setError(null);
    try {
      props.onCreated(await createCredential(v));
    } catch (e) {
      setError(e as ApiError);
    }
  });
  return (
    <div className="credential-form">
      <TextField
        label="Credential name"
        value={v.name}
        onChange={(name) => props.onChange({ ...v, name })}
        error={error?.field("name")}
        hint="Describe its use, e.g. “Orders export from ERP”"
      />
      <fieldset>
        <legend id={groupId}>Kind</legend>
        <label className="radio">
          <input
            type="radio"
            name={`${groupId}-kind`}
            checked={v.kind === "public_key"}
            onChange={() => props.onChange({ ...v, kind: "public_key" })}
          />
          Public Key
        </label>
        <label className="radio">
          <input
            type="radio"
            name={`${groupId}-kind`}
            checked={v.kind === "password"}
            onChange={() => props.onChange({ ...v, kind: "password" })}
          />
          Password <span className="muted">(generated by Ferry, shown once)</span>
        </label>
      </fieldset>
      {v.kind === "public_key" && (
        <PublicKeyField
          value={v.publicKey}
          onChange={(publicKey) => props.onChange({ ...v, publicKey })}
          serverError={error?.field("publicKey")}
        />
      )}
      {error && !error.fields.length && <Notice kind="error">{error.message}</Notice>}
      {!inWizard && (
        <BusyButton onClick={create} busy={busy} busyLabel="Creating…">
          Create credential
        </BusyButton>
      )}
    </div>
  );
}
