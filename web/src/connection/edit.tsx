/** A connection's Edit form: the wizard's pieces for its settings, its credential and retention. */
import { type FormEvent, useEffect, useState } from "react";
import { ApiError, all, api, type Connection, type Credential } from "../api";
import { needsCredential } from "../labels";
import { BusyButton, Notice, SelectField, TextField, useOnce } from "../ui";
import { MethodDetails } from "../wizard/method-details";
import { detailsOf, type Errors, stateOf, type WizardState } from "../wizard/state";
import { OutboundOptions } from "../wizard/steps";

export function EditConnection(props: {
  connection: Connection;
  onDone: (c: Connection | null) => void;
  /** The account's time zone, which its schedule keeps. */
  timeZone?: string;
}) {
  const c = props.connection;
  const [s, setState] = useState<WizardState>(() => stateOf(c));
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const [keep, setKeep] = useState({
    days: c.retention.days === null ? "" : String(c.retention.days),
    resultDays: c.retention.resultDays === null ? "" : String(c.retention.resultDays),
  });
  const set = (patch: Partial<WizardState>) => setState((prev) => ({ ...prev, ...patch }));
  useEffect(() => {
    if (needsCredential(c.method, c.methodology)) all<Credential>("/credentials").then(setCredentials);
  }, [c]);

  const [save, saving] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    try {
      const body = {
        name: s.name.trim(),
        ...(needsCredential(c.method, c.methodology) ? { credentialId: s.credentialId } : {}),
        // Unticked, an expectation set before is removed (null removes a setting).
        details: {
          ...detailsOf(s),
          ...(s.direction === "inbound" && !s.expectFiles ? { expectFiles: null } : {}),
          // A key unset is removed the same way.
          ...(s.direction === "inbound" && !s.pgpSignedBy ? { pgpSignedBy: null } : {}),
          ...(s.direction === "outbound" && !s.pgpEncryptTo ? { pgpEncryptTo: null, pgpSign: false } : {}),
        },
        retentionDays: keep.days.trim() === "" ? null : Number(keep.days),
        ...(c.direction === "inbound"
          ? { resultRetentionDays: keep.resultDays.trim() === "" ? null : Number(keep.resultDays) }
          : {}),
      };
      props.onDone(await api<Connection>("PATCH", `/connections/${c.id}`, body));
    } catch (err) {
      if (err instanceof ApiError) {
        const byPath: Errors = {};
        for (const f of err.fields) byPath[f.path] = f.message;
        setErrors(byPath);
      }
      setFailure((err as Error).message);
    }
  });
  return (
    <form className="card" onSubmit={save} aria-label="Edit connection">
      <h2>Edit</h2>
      {failure && <Notice kind="error">{failure}</Notice>}
      <TextField
        label="Connection name"
        value={s.name}
        onChange={(name) => set({ name })}
        error={errors.name}
      />
      {needsCredential(c.method, c.methodology) && (
        <SelectField
          label="Credential"
          value={s.credentialId}
          onChange={(credentialId) => set({ credentialId })}
          options={credentials.map((k) => [k.id, `${k.name} (${k.username})`])}
          error={errors.credentialId}
        />
      )}
      {c.direction === "outbound" && (
        <OutboundOptions s={s} set={set} errors={errors} timeZone={props.timeZone} />
      )}
      <MethodDetails s={s} set={set} errors={errors} connectionId={c.id} />
      <TextField
        label="Keep files (days)"
        type="number"
        value={keep.days}
        onChange={(days) => setKeep((k) => ({ ...k, days }))}
        placeholder={c.retention.days === null ? String(c.retention.effectiveDays) : ""}
        hint="Then the file's bytes are removed; its record and row counts stay. Empty: the account's setting."
        error={errors.retentionDays}
      />
      {c.direction === "inbound" && (
        <TextField
          label="Keep result files (days)"
          type="number"
          value={keep.resultDays}
          onChange={(resultDays) => setKeep((k) => ({ ...k, resultDays }))}
          placeholder={c.retention.resultDays === null ? String(c.retention.effectiveResultDays) : ""}
          hint="Receipts, summaries and errors files. Empty: the account's setting."
          error={errors.resultRetentionDays}
        />
      )}
      <div className="row">
        <BusyButton type="submit" busy={saving} busyLabel="Saving…">
          Save
        </BusyButton>
        <button type="button" className="secondary" onClick={() => props.onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
