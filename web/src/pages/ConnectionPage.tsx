/**
 * One connection: its attributes, Edit, Disable/Enable, Run now, upload a file, a 30-day chart, and its
 * history of transfers with downloads and a readable view of row errors.
 */
import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import {
  ApiError,
  all,
  api,
  type Connection,
  type Credential,
  type DayActivity,
  type Page,
  type Pull,
  type ResultFile,
  type RowErrorPage,
  type Session,
  type Transfer,
} from "../api";
import {
  bytes,
  DATA_TYPES,
  DIRECTIONS,
  FORMATS,
  FREQUENCIES,
  METHODOLOGIES,
  METHODS,
  needsCredential,
  plural,
  REPORTS,
  when,
} from "../labels";
import { CONNECTIONS } from "../paths";
import { Link } from "../router";
import { ActivityBadge, Copyable, Loading, Notice, SelectField, StatusBadge, TextField } from "../ui";
import { FerryKey, MethodDetails } from "../wizard/method-details";
import { detailsOf, type Errors, stateOf, type WizardState } from "../wizard/state";
import { OutboundOptions } from "../wizard/steps";
import { ActivityChart } from "./ActivityChart";

const DETAIL_LABELS: Record<string, string> = {
  allOrNothing: "All or nothing",
  validateOnly: "Validate only",
  filePattern: "File pattern",
  returnAddress: "Return address",
  allowedSenders: "Allowed senders",
  host: "Host",
  port: "Port",
  username: "Username",
  passwordSet: "Password",
  folder: "Folder",
  deleteAfterPull: "Delete after pull",
  resultFolder: "Result folder",
  pullEveryMinutes: "Pull every (minutes)",
  authMethod: "Authentication",
  hostKeyFingerprint: "Host key",
  security: "Security",
  tls: "TLS",
  mailbox: "Mailbox",
  schedule: "Schedule",
  format: "Format",
  compression: "Compression",
  fileNameTemplate: "File name",
  report: "Report",
  recipients: "Recipients",
  campaignIds: "Campaigns",
  partnerIds: "Partners",
};

function detailText(key: string, v: unknown): string {
  if (key === "passwordSet") return "set (stored encrypted)";
  if (key === "report") return REPORTS[String(v)] ?? String(v);
  if (key === "format") return FORMATS[String(v)] ?? String(v);
  if (key === "schedule" && v && typeof v === "object") {
    const s = v as { frequency: string; time?: string; dayOfWeek?: string; dayOfMonth?: number };
    return [
      FREQUENCIES[s.frequency] ?? s.frequency,
      s.dayOfWeek && `on ${s.dayOfWeek}`,
      s.dayOfMonth && `on day ${s.dayOfMonth}`,
      s.time && `at ${s.time}`,
    ]
      .filter(Boolean)
      .join(" ");
  }
  if (typeof v === "boolean") return v ? "Yes" : "No";
  if (Array.isArray(v)) return v.join(", ");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function ConnectionPage(props: { id: string; session: Session }) {
  const [c, setConnection] = useState<Connection | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(() => new URLSearchParams(location.search).has("edit"));
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const [refresh, setRefresh] = useState(0);
  const bump = useCallback(() => setRefresh((n) => n + 1), []);
  // What the history shows (ids and statuses): when it changes, status and chart are read again, so the
  // three never disagree.
  const [seen, setSeen] = useState("");

  // biome-ignore lint/correctness/useExhaustiveDependencies: `refresh` asks for a reload.
  useEffect(() => {
    api<Connection>("GET", `/connections/${props.id}`)
      .then(setConnection)
      .catch((e) =>
        setError(e.status === 404 ? "This connection does not exist in your account." : e.message),
      );
  }, [props.id, refresh, seen]);

  useEffect(() => {
    if (c && location.hash === "#history") document.getElementById("history")?.scrollIntoView();
  }, [c]);

  if (error) return <Notice kind="error">{error}</Notice>;
  if (!c) return <Loading />;

  const toggle = async () => {
    const action = c.status === "active" ? "disable" : "enable";
    try {
      setConnection(await api<Connection>("POST", `/connections/${c.id}/${action}`));
      setMessage({
        kind: "success",
        text: action === "disable" ? "Connection disabled." : "Connection enabled.",
      });
    } catch (e) {
      setMessage({ kind: "error", text: (e as Error).message });
    }
  };
  const runNow = async () => {
    try {
      await api("POST", `/connections/${c.id}/runs`, {});
      setMessage({
        kind: "success",
        text: "A file for yesterday is being generated: it appears in the history.",
      });
      setTimeout(() => setRefresh((n) => n + 1), 1500);
    } catch (e) {
      setMessage({ kind: "error", text: (e as Error).message });
    }
  };

  const pullNow = async () => {
    try {
      await api("POST", `/connections/${c.id}/pulls`);
      setMessage({ kind: "success", text: "Pulling now: new files appear in the history." });
      bump();
    } catch (e) {
      setMessage({ kind: "error", text: (e as Error).message });
    }
  };

  const d = c.details;
  return (
    <section aria-labelledby="connection-title">
      <p>
        <Link href={CONNECTIONS}>← All connections</Link>
      </p>
      <div className="page-head">
        <h1 id="connection-title">
          {c.name} {c.status === "disabled" && <span className="badge muted-badge">Disabled</span>}
        </h1>
        <div className="row">
          {!editing && (
            <button type="button" className="secondary" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
          {c.methodology === "pull_from_third_party" && c.status === "active" && (
            <button type="button" className="secondary" onClick={pullNow}>
              Pull now
            </button>
          )}
          {c.methodology === "pull_from_platform" && c.status === "active" && (
            <button type="button" className="secondary" onClick={runNow}>
              Run now
            </button>
          )}
          <button type="button" className="secondary" onClick={toggle}>
            {c.status === "active" ? "Disable" : "Enable"}
          </button>
        </div>
      </div>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {editing ? (
        <EditConnection
          connection={c}
          onDone={(updated) => {
            setEditing(false);
            if (updated) {
              setConnection(updated);
              setMessage({ kind: "success", text: "Changes saved." });
            }
          }}
        />
      ) : (
        <div className="card">
          <dl className="summary" data-testid="attributes">
            <div>
              <dt>Status</dt>
              <dd>
                <ActivityBadge status={c.activity.status} /> last active {when(c.activity.lastActiveAt)}
              </dd>
            </div>
            <div>
              <dt>Direction</dt>
              <dd>{DIRECTIONS[c.direction]}</dd>
            </div>
            <div>
              <dt>Data type</dt>
              <dd>{DATA_TYPES[c.dataType]?.label ?? c.dataType}</dd>
            </div>
            <div>
              <dt>Method</dt>
              <dd>
                {METHODS[c.method]}, {METHODOLOGIES[c.methodology]}
              </dd>
            </div>
            {c.address && (
              <div>
                <dt>Address</dt>
                <dd>
                  <Copyable label="Address" value={c.address} hideLabel />
                </dd>
              </div>
            )}
            {c.method !== "email" && c.methodology !== "pull_from_third_party" && (
              <div>
                <dt>Folder</dt>
                <dd>
                  <code>{c.folder}/</code> ({c.direction === "inbound" ? "inbox/, results/" : "outbox/"})
                </dd>
              </div>
            )}
            {Object.entries(d).map(([k, v]) => (
              <div key={k}>
                <dt>{DETAIL_LABELS[k] ?? k}</dt>
                <dd>{detailText(k, v)}</dd>
              </div>
            ))}
            <div>
              <dt>Kept</dt>
              <dd>{keptText(c)}</dd>
            </div>
            <div>
              <dt>Stored now</dt>
              <dd>
                {plural(c.storage.files, "file")}, {bytes(c.storage.bytes)}
                {c.direction === "inbound" &&
                  `; results: ${plural(c.storage.resultFiles, "file")}, ${bytes(c.storage.resultBytes)}`}
              </dd>
            </div>
            <div>
              <dt>Created</dt>
              <dd>{when(c.createdAt)}</dd>
            </div>
          </dl>
        </div>
      )}
      {c.direction === "inbound" && c.status === "active" && (
        <Upload connection={c} onUploaded={() => setRefresh((n) => n + 1)} />
      )}
      {c.methodology === "pull_from_third_party" && (
        <Pulls connection={c} refresh={refresh} onChanged={bump} />
      )}
      <Activity connection={c} refresh={seen} />
      <History connection={c} refresh={refresh} onRefresh={bump} onSeen={setSeen} />
    </section>
  );
}

/** A pull connection's health: its latest pulls, and what to do about a changed host key. */
function Pulls(props: { connection: Connection; refresh: number; onChanged: () => void }) {
  const c = props.connection;
  const [pulls, setPulls] = useState<Pull[] | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const load = useCallback(async () => {
    setPulls((await api<{ items: Pull[] }>("GET", `/connections/${c.id}/pulls`)).items.slice(0, 10));
  }, [c.id]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `refresh` asks for a reload.
  useEffect(() => {
    void load();
  }, [load, props.refresh]);
  useEffect(() => {
    if (!pulls?.some((p) => p.status === "pending" || p.status === "running")) return;
    const timer = setTimeout(load, 1000);
    return () => clearTimeout(timer);
  }, [pulls, load]);
  const latest = pulls?.[0];
  const accept = async () => {
    const r = await api<{ hostKeyFingerprint: string }>("POST", `/connections/${c.id}/accept-host-key`);
    setNote(`The server's key ${r.hostKeyFingerprint} is trusted now.`);
    props.onChanged();
  };
  return (
    <div className="card" data-testid="pulls">
      <h2>Pulls</h2>
      <p className="muted">
        Every {String(c.details.pullEveryMinutes ?? 15)} minutes Ferry takes the files of{" "}
        <code>{String(c.details.folder ?? "")}</code> matching{" "}
        <code>{String(c.details.filePattern ?? "")}</code> on {String(c.details.host)}.{" "}
        {c.method === "sftp" ? "Host key" : "Certificate"}:{" "}
        <code>{String(c.details.hostKeyFingerprint ?? "recorded at the first connection")}</code>
      </p>
      {c.details.authMethod === "key" && <FerryKey />}
      {latest?.status === "failed" &&
        latest.hostKey &&
        typeof c.details.hostKeyFingerprint === "string" &&
        latest.hostKey !== c.details.hostKeyFingerprint && (
          <Notice kind="error">
            The server presented a different {c.method === "sftp" ? "host key" : "certificate"} (
            {latest.hostKey}
            ). Pulls stop until you accept it: do so only if the server's owner confirms they changed it.{" "}
            <button type="button" className="secondary small" onClick={accept}>
              Accept the new key
            </button>
          </Notice>
        )}
      {note && <Notice kind="success">{note}</Notice>}
      {pulls && pulls.length === 0 && <p className="muted">No pull yet.</p>}
      {pulls && pulls.length > 0 && (
        <div className="table-wrap">
          <table className="list compact">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Status</th>
                <th scope="col">Found</th>
                <th scope="col">Taken</th>
                <th scope="col">Growing</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {pulls.map((p) => (
                <tr key={p.id}>
                  <td data-label="When">
                    {when(p.createdAt)} <span className="muted small">{p.trigger}</span>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={p.status} />
                  </td>
                  <td data-label="Found" className="num">
                    {p.filesFound ?? "—"}
                  </td>
                  <td data-label="Taken" className="num">
                    {p.filesTaken ?? "—"}
                  </td>
                  <td data-label="Growing" className="num">
                    {p.filesWaiting ?? "—"}
                  </td>
                  <td data-label="Error">{p.error ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function EditConnection(props: { connection: Connection; onDone: (c: Connection | null) => void }) {
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

  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const body = {
        name: s.name.trim(),
        ...(needsCredential(c.method, c.methodology) ? { credentialId: s.credentialId } : {}),
        details: detailsOf(s),
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
  };
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
      {c.direction === "outbound" && <OutboundOptions s={s} set={set} errors={errors} />}
      <MethodDetails s={s} set={set} errors={errors} />
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
        <button type="submit">Save</button>
        <button type="button" className="secondary" onClick={() => props.onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Upload(props: { connection: Connection; onUploaded: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const upload = async (e: FormEvent) => {
    e.preventDefault();
    const file = input.current?.files?.[0];
    if (!file) {
      setState({ kind: "error", text: "Choose a file first" });
      return;
    }
    setBusy(true);
    try {
      const t = await api<Transfer>(
        "POST",
        `/connections/${props.connection.id}/files?name=${encodeURIComponent(file.name)}`,
        file,
      );
      setState({
        kind: "success",
        text: `${file.name} received (${bytes(t.size)})${t.status === "duplicate" ? " — same content as an earlier file: recorded as a duplicate" : ": it is being processed"}.`,
      });
      if (input.current) input.current.value = "";
      props.onUploaded();
      setTimeout(props.onUploaded, 2000);
    } catch (err) {
      setState({ kind: "error", text: (err as Error).message });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="card upload" onSubmit={upload} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a file</h2>
      <p className="muted">Goes through the same processing as files sent by SFTP, FTP or email.</p>
      <div className="row">
        <label htmlFor="upload-file" className="sr-only">
          File to upload
        </label>
        <input id="upload-file" type="file" ref={input} />
        <button type="submit" disabled={busy}>
          {busy ? "Uploading…" : "Upload"}
        </button>
      </div>
      {state && <Notice kind={state.kind}>{state.text}</Notice>}
    </form>
  );
}

function Activity(props: { connection: Connection; refresh: string }) {
  const [days, setDays] = useState<DayActivity[] | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `refresh` asks for a reload.
  useEffect(() => {
    api<{ items: DayActivity[] }>("GET", `/connections/${props.connection.id}/activity?days=30`).then((r) =>
      setDays(r.items),
    );
  }, [props.connection.id, props.refresh]);
  return (
    <div className="card">
      <h2>Last 30 days</h2>
      {days ? <ActivityChart days={days} /> : <Loading />}
    </div>
  );
}

function History(props: {
  connection: Connection;
  refresh: number;
  onRefresh: () => void;
  onSeen: (signature: string) => void;
}) {
  const [items, setItems] = useState<Transfer[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const base = `/connections/${props.connection.id}/transfers?order=desc&limit=50`;

  const load = useCallback(async () => {
    const page = await api<Page<Transfer>>("GET", base);
    setItems(page.items);
    setCursor(page.nextCursor);
  }, [base]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `refresh` asks for a reload.
  useEffect(() => {
    void load();
  }, [load, props.refresh]);
  // Follow files still being processed.
  const { onSeen } = props;
  useEffect(() => {
    onSeen((items ?? []).map((t) => `${t.id}:${t.status}`).join(","));
    if (!items?.some((t) => t.status === "received" || t.status === "processing")) return;
    const timer = setTimeout(load, 1000);
    return () => clearTimeout(timer);
  }, [items, load, onSeen]);

  const more = async () => {
    if (!cursor) return;
    const page = await api<Page<Transfer>>("GET", `${base}&cursor=${cursor}`);
    setItems((list) => [...(list ?? []), ...page.items]);
    setCursor(page.nextCursor);
  };

  return (
    <div className="card" id="history">
      <div className="page-head">
        <h2>History</h2>
        <button type="button" className="secondary small" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      {!items && <Loading />}
      {items && items.length === 0 && <p className="muted">No files yet.</p>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="list" data-testid="history">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">Status</th>
                <th scope="col">Rows ok</th>
                <th scope="col">Rows failed</th>
                <th scope="col">Files</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <TransferRow
                  key={t.id}
                  t={t}
                  open={open === t.id}
                  toggle={() => setOpen(open === t.id ? null : t.id)}
                />
              ))}
            </tbody>
          </table>
          {cursor && (
            <button type="button" className="secondary" onClick={more}>
              Show older files
            </button>
          )}
        </div>
      )}
    </div>
  );
}

function TransferRow(props: { t: Transfer; open: boolean; toggle: () => void }) {
  const { t } = props;
  const [results, setResults] = useState<ResultFile[] | null>(null);
  useEffect(() => {
    if (t.processedAt)
      api<{ items: ResultFile[] }>("GET", `/transfers/${t.id}/results`).then((r) => setResults(r.items));
  }, [t.id, t.processedAt]);
  const hasErrors = results?.some((r) => r.kind === "errors");
  return (
    <>
      <tr data-transfer={t.id}>
        <td data-label="Time">{when(t.createdAt)}</td>
        <td data-label="File" className="file">
          {t.fileName}
        </td>
        <td data-label="Size">{bytes(t.size)}</td>
        <td data-label="Status">
          <StatusBadge status={t.status} />
          {t.error && <div className="muted small">{t.error}</div>}
        </td>
        <td data-label="Rows ok" className="num">
          {t.rows ? t.rows.ok : "—"}
        </td>
        <td data-label="Rows failed" className="num">
          {t.rows ? t.rows.error : "—"}
        </td>
        <td data-label="Files" className="downloads">
          {t.contentAvailable ? (
            <a href={`/api/v1/transfers/${t.id}/content`} download aria-label={`Download ${t.fileName}`}>
              Original
            </a>
          ) : (
            <span className="muted small" title="Removed by the retention policy; the record stays">
              Original expired
            </span>
          )}
          {results?.map((r) => {
            const label = r.kind[0]!.toUpperCase() + r.kind.slice(1);
            return r.contentAvailable ? (
              <a key={r.kind} href={`/api/v1/transfers/${t.id}/results/${r.kind}`} download>
                {label}
              </a>
            ) : (
              <span key={r.kind} className="muted small" title="Removed by the retention policy">
                {label} expired
              </span>
            );
          })}
          {hasErrors && (
            <button type="button" className="link" onClick={props.toggle} aria-expanded={props.open}>
              {props.open ? "Hide errors" : "View errors"}
            </button>
          )}
        </td>
      </tr>
      {props.open && (
        <tr className="errors-row">
          <td colSpan={7}>
            <RowErrors transferId={t.id} />
          </td>
        </tr>
      )}
    </>
  );
}

const SHOWN_ERRORS = 200;

function RowErrors(props: { transferId: string }) {
  const [page, setPage] = useState<RowErrorPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    // Only the first page: a file with a million errors stays a download.
    api<RowErrorPage>("GET", `/transfers/${props.transferId}/results/errors/rows?limit=${SHOWN_ERRORS}`)
      .then(setPage)
      .catch((e) => setError(e.message));
  }, [props.transferId]);
  if (error) return <Notice kind="error">{error}</Notice>;
  if (!page) return <Loading />;
  return (
    <div className="row-errors">
      <table className="list compact" data-testid="row-errors">
        <thead>
          <tr>
            <th scope="col">Line</th>
            <th scope="col">Error</th>
            <th scope="col">Message</th>
            <th scope="col">Row</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((r) => (
            <tr key={r.line}>
              <td className="num">{r.line}</td>
              <td>
                <code>{r.errorType}</code>
              </td>
              <td>{r.message}</td>
              <td className="muted small">{r.fields.join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.nextCursor !== null && (
        <p className="muted">
          The first {SHOWN_ERRORS} errors are shown: download the errors file for all of them.
        </p>
      )}
    </div>
  );
}

/** How long the connection keeps its files, and where that setting comes from. */
function keptText(c: Connection): string {
  const days = (n: number) => plural(n, "day");
  const from = (own: number | null) => (own === null ? " (account setting)" : "");
  const files = `files ${days(c.retention.effectiveDays)}${from(c.retention.days)}`;
  if (c.retention.effectiveResultDays === null) return files[0]!.toUpperCase() + files.slice(1);
  return `Files ${days(c.retention.effectiveDays)}${from(c.retention.days)}, result files ${days(c.retention.effectiveResultDays)}${from(c.retention.resultDays)}`;
}
