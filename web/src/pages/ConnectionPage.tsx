/**
 * One connection: its attributes, Edit, Disable/Enable, Run now, upload a file, a 30-day chart, and its
 * history of transfers with downloads and a readable view of row errors.
 */
import { useCallback, useEffect, useState } from "react";
import { api, type Connection, type PgpKey, type Session } from "../api";
import { EditConnection } from "../connection/edit";
import { HandOff } from "../connection/hand-off";
import type { HistoryFocus } from "../connection/history";
import { Activity, History } from "../connection/history";
import { pgpKeyLabel, usePgpKeys } from "../connection/pgp";
import { Pulls } from "../connection/pulls";
import { Upload } from "../connection/upload";
import {
  bytes,
  DATA_TYPES,
  DELIMITERS,
  DIRECTIONS,
  ENCODINGS,
  FORMATS,
  FREQUENCIES,
  METHODOLOGIES,
  METHODS,
  plural,
  problemText,
  REPORTS,
  sendsEmail,
  when,
} from "../labels";
import { CONNECTIONS } from "../paths";
import { Link } from "../router";
import { ActivityBadge, BusyButton, Copyable, Loading, NoEmailNotice, Notice, useOnce } from "../ui";

const DETAIL_LABELS: Record<string, string> = {
  allOrNothing: "All or nothing",
  validateOnly: "Validate only",
  errorsCompression: "Errors file compression",
  encoding: "File encoding",
  expectFiles: "Expected files",
  delimiter: "Delimiter",
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
  deliverToServer: "Delivered to your server",
  pgpEncryption: "Encrypted files (PGP)",
  pgpSignedBy: "Signature required from",
  pgpEncryptTo: "Encrypted to (PGP)",
  pgpSign: "Signed with your PGP key",
};

const CODE_DETAILS = new Set([
  "hostKeyFingerprint",
  "fileNameTemplate",
  "filePattern",
  "folder",
  "resultFolder",
]);

function detailText(key: string, v: unknown, keys: PgpKey[] | null): string {
  if (key === "passwordSet") return "set (stored encrypted)";
  if (key === "pgpSignedBy" || key === "pgpEncryptTo") return pgpKeyLabel(keys, String(v));
  if (key === "pgpEncryption") return v === "required" ? "Required" : "Accepted (plain files too)";
  if (key === "report") return REPORTS[String(v)] ?? String(v);
  if (key === "format") return FORMATS[String(v)] ?? String(v);
  if (key === "expectFiles" && v && typeof v === "object") {
    const e = v as { days: string[]; by: string };
    return `${e.days.map((d) => d.slice(0, 3)).join(", ")} by ${e.by} (else a file.missing event)`;
  }
  if (key === "encoding") return ENCODINGS.find(([e]) => e === v)?.[1] ?? String(v);
  if (key === "delimiter") return DELIMITERS.find(([e]) => e === v)?.[1] ?? String(v);
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
  const pgpKeys = usePgpKeys(Boolean(c?.details.pgpSignedBy || c?.details.pgpEncryptTo));
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(() => new URLSearchParams(location.search).has("edit"));
  const [message, setMessage] = useState<{ kind: "success" | "error"; text: string } | null>(null);
  const [refresh, setRefresh] = useState(0);
  const bump = useCallback(() => setRefresh((n) => n + 1), []);
  // What the history shows (ids and statuses): when it changes, status and chart are read again, so the
  // three never disagree.
  const [seen, setSeen] = useState("");
  // The file just uploaded here: the history marks its row (and opens its errors when asked).
  const [focus, setFocus] = useState<HistoryFocus | null>(null);
  const uploaded = useCallback((id: string) => {
    setFocus({ id, errors: false, at: Date.now() });
    setRefresh((n) => n + 1);
  }, []);

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

  const [toggle, toggling] = useOnce(async () => {
    if (!c) return;
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
  });
  const [runNow, running] = useOnce(async () => {
    if (!c) return;
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
  });
  const [pullNow, pulling] = useOnce(async () => {
    if (!c) return;
    try {
      await api("POST", `/connections/${c.id}/pulls`);
      setMessage({ kind: "success", text: "Pulling now: new files appear in the history." });
      bump();
    } catch (e) {
      setMessage({ kind: "error", text: (e as Error).message });
    }
  });

  if (error) return <Notice kind="error">{error}</Notice>;
  if (!c) return <Loading />;

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
            <BusyButton className="secondary" onClick={pullNow} busy={pulling} busyLabel="Pulling…">
              Pull now
            </BusyButton>
          )}
          {c.methodology === "pull_from_platform" && c.status === "active" && (
            <BusyButton className="secondary" onClick={runNow} busy={running} busyLabel="Starting…">
              Run now
            </BusyButton>
          )}
          <BusyButton
            className="secondary"
            onClick={toggle}
            busy={toggling}
            busyLabel={c.status === "active" ? "Disabling…" : "Enabling…"}
          >
            {c.status === "active" ? "Disable" : "Enable"}
          </BusyButton>
        </div>
      </div>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {!props.session.server.emailSending &&
        c.status === "active" &&
        sendsEmail({ ...c, returnAddress: c.details.returnAddress }) && <NoEmailNotice />}
      {editing ? (
        <EditConnection
          connection={c}
          timeZone={props.session.account.timeZone}
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
                {c.activity.problem && (
                  <p className={`problem ${c.activity.status}`} data-testid="status-problem">
                    {problemText(c.activity.problem)}
                  </p>
                )}
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
                <dd>
                  {/* Fingerprints, templates and paths are read character by character: shown as code. */}
                  {CODE_DETAILS.has(k) ? <code>{detailText(k, v, pgpKeys)}</code> : detailText(k, v, pgpKeys)}
                  {k === "fileNameTemplate" && c.exampleFileName && (
                    <span className="muted" data-testid="example-file-name">
                      {" "}
                      e.g. <code>{c.exampleFileName}</code>
                    </span>
                  )}
                </dd>
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
      {!editing && c.login && <HandOff connection={c} />}
      {c.direction === "inbound" && c.status === "active" && (
        <Upload
          connection={c}
          onUploaded={uploaded}
          onViewErrors={(id) => setFocus({ id, errors: true, at: Date.now() })}
        />
      )}
      {c.methodology === "pull_from_third_party" && (
        <Pulls connection={c} refresh={refresh} onChanged={bump} />
      )}
      <Activity connection={c} refresh={seen} />
      <History
        connection={c}
        refresh={refresh}
        onRefresh={bump}
        onSeen={setSeen}
        focus={focus}
        timeZone={props.session.account.timeZone}
      />
    </section>
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
