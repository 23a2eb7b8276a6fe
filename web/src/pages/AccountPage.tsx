/**
 * The account: its name, time zone and default currency; what its files take in storage (and its quota, when
 * it has one) and how long it keeps each kind of file. Connections may keep theirs longer or shorter (their
 * edit form). The account's admins change these; its members see them (the API refuses them too).
 */
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { type Account, ApiError, api, type Session } from "../api";
import { bytes } from "../labels";
import { BusyButton, Loading, Notice, TextField, useOnce } from "../ui";

type Kind = "inboundDays" | "resultDays" | "outboundDays";

const KINDS: [Kind, string, string][] = [
  [
    "inboundDays",
    "Received files",
    "Files partners and servers send in; never removed before they are processed.",
  ],
  ["resultDays", "Result files", "Receipts, summaries and errors files of received files."],
  ["outboundDays", "Generated files", "Reports and other files made for download or delivery."],
];

export function AccountPage(props: { session: Session; onAccountChanged?: (a: Account) => void }) {
  const id = props.session.account.id;
  const [account, setAccount] = useState<Account | null>(null);
  const [form, setForm] = useState<Record<Kind, string>>({
    inboundDays: "",
    resultDays: "",
    outboundDays: "",
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<{ kind: "success" | "error"; text: string } | null>(null);

  const show = useCallback((a: Account) => {
    setAccount(a);
    setForm({
      inboundDays: a.retention.inboundDays?.toString() ?? "",
      resultDays: a.retention.resultDays?.toString() ?? "",
      outboundDays: a.retention.outboundDays?.toString() ?? "",
    });
  }, []);
  useEffect(() => {
    api<Account>("GET", `/accounts/${id}`).then(show, (e) =>
      setNotice({ kind: "error", text: (e as Error).message }),
    );
  }, [id, show]);

  const [save, saving] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    try {
      const retention = Object.fromEntries(
        KINDS.map(([k]) => [k, form[k].trim() === "" ? null : Number(form[k])]),
      );
      show(await api<Account>("PATCH", `/accounts/${id}`, { retention }));
      setErrors({});
      setNotice({ kind: "success", text: "Retention saved." });
    } catch (err) {
      if (err instanceof ApiError) {
        setErrors(Object.fromEntries(err.fields.map((f) => [f.path.replace(/^retention\./, ""), f.message])));
      }
      setNotice({ kind: "error", text: (err as Error).message });
    }
  });

  if (!account) return notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : <Loading />;
  const admin = props.session.accountRole === "admin";
  const saved = (a: Account) => {
    show(a);
    props.onAccountChanged?.(a);
    setErrors({});
    setNotice({ kind: "success", text: "Account settings saved." });
  };
  return (
    <section aria-labelledby="account-title">
      <div className="page-head">
        <h1 id="account-title">Account</h1>
      </div>
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      {!admin && (
        <Notice kind="info">
          Only the account's admins change its settings and how long it keeps files: ask one of them (Security
          lists the users and their roles).
        </Notice>
      )}
      <div className="card">
        <dl className="summary" data-testid="account-attributes">
          <div>
            <dt>Name</dt>
            <dd>{account.name}</dd>
          </div>
          <div>
            <dt>Time zone</dt>
            <dd>{account.timeZone}</dd>
          </div>
          <div>
            <dt>Received files stored</dt>
            <dd>
              {bytes(account.storageUsedBytes)}
              {account.storageQuotaBytes !== null &&
                ` of ${bytes(account.storageQuotaBytes)} (${Math.round((100 * account.storageUsedBytes) / account.storageQuotaBytes)}%)`}
            </dd>
          </div>
        </dl>
      </div>
      <SettingsForm
        account={account}
        readOnly={!admin}
        onSaved={saved}
        onError={(text) => setNotice({ kind: "error", text })}
      />
      <form className="card" onSubmit={save} aria-labelledby="retention-title">
        <h2 id="retention-title">How long files are kept</h2>
        <p className="muted">
          After this many days a file's bytes are removed; its record, row counts and audit trail stay. Empty:
          the server's default. A connection can set its own.
        </p>
        <fieldset className="bare" disabled={!admin}>
          {KINDS.map(([k, label, hint]) => (
            <TextField
              key={k}
              label={`${label} (days)`}
              type="number"
              value={form[k]}
              onChange={(v) => setForm((f) => ({ ...f, [k]: v }))}
              placeholder={String(account.retentionDefaults[k])}
              hint={`${hint} Default: ${account.retentionDefaults[k]} days.`}
              error={errors[k]}
            />
          ))}
          {admin && (
            <div className="row">
              <BusyButton type="submit" busy={saving} busyLabel="Saving…">
                Save
              </BusyButton>
            </div>
          )}
        </fieldset>
      </form>
    </section>
  );
}

/** Every IANA time zone the browser knows (the API checks again), for the time zone field's suggestions. */
const ZONES: string[] =
  (Intl as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];

function SettingsForm(props: {
  account: Account;
  readOnly: boolean;
  onSaved: (a: Account) => void;
  onError: (text: string) => void;
}) {
  const a = props.account;
  const [form, setForm] = useState({ name: a.name, timeZone: a.timeZone, currency: a.currency });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const zoneChanged = form.timeZone !== a.timeZone;
  const [submit, saving] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    try {
      const next = await api<Account>("PATCH", `/accounts/${a.id}`, {
        name: form.name.trim(),
        timeZone: form.timeZone.trim(),
        currency: form.currency.trim().toUpperCase(),
      });
      // The form shows what was saved (e.g. the currency in capitals).
      setForm({ name: next.name, timeZone: next.timeZone, currency: next.currency });
      props.onSaved(next);
      setErrors({});
    } catch (err) {
      if (err instanceof ApiError) setErrors(Object.fromEntries(err.fields.map((f) => [f.path, f.message])));
      props.onError((err as Error).message);
    }
  });
  return (
    <form className="card" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <fieldset className="bare" disabled={props.readOnly}>
        <TextField
          label="Name"
          value={form.name}
          onChange={(v) => setForm((f) => ({ ...f, name: v }))}
          error={errors.name}
        />
        <TextField
          label="Time zone"
          value={form.timeZone}
          list="time-zones"
          onChange={(v) => setForm((f) => ({ ...f, timeZone: v }))}
          hint={
            zoneChanged
              ? "Schedules follow the new time zone from their next period on: that period runs from the last one's end to the next boundary in the new zone."
              : "IANA name, e.g. Europe/Paris. Schedules and the dates of files without an offset use it."
          }
          error={errors.timeZone}
        />
        <datalist id="time-zones">
          {ZONES.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
        <TextField
          label="Default currency"
          value={form.currency}
          onChange={(v) => setForm((f) => ({ ...f, currency: v }))}
          hint="ISO 4217 code, e.g. EUR: the currency of amounts in files that give none."
          error={errors.currency}
        />
        {!props.readOnly && (
          <div className="row">
            <BusyButton type="submit" busy={saving} busyLabel="Saving…">
              Save settings
            </BusyButton>
          </div>
        )}
      </fieldset>
    </form>
  );
}
