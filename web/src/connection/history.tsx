/** A connection's 30-day chart and its history of transfers, with downloads and the refused rows. */
import { useCallback, useEffect, useState } from "react";
import { api, type Connection, type DayActivity, type Page, type RowErrorPage, type Transfer } from "../api";
import { bytes, plural, problemText, when } from "../labels";
import { ActivityChart } from "../pages/ActivityChart";
import { BusyButton, Checkbox, Loading, Notice, StatusBadge, TextField, useOnce } from "../ui";

export function Activity(props: { connection: Connection; refresh: string }) {
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

/** A row of the history to mark (a file just uploaded), with its refused rows open when `errors`. */
export interface HistoryFocus {
  id: string;
  errors: boolean;
  /** When it was asked (asking again for the same row opens it again). */
  at: number;
}

/** The instant a day (YYYY-MM-DD) ends in a time zone: the next day's midnight there. */
export function endOfDay(day: string, timeZone: string): Date {
  const next = new Date(`${day}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  const iso = next.toISOString().slice(0, 10);
  const offset =
    new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
      .formatToParts(new Date(`${iso}T12:00:00Z`))
      .find((p) => p.type === "timeZoneName")
      ?.value.replace("GMT", "") || "+00:00";
  return new Date(`${iso}T00:00:00${offset}`);
}

export function History(props: {
  connection: Connection;
  refresh: number;
  onRefresh: () => void;
  onSeen: (signature: string) => void;
  focus?: HistoryFocus | null;
  /** The account's time zone: "Up to day" means that day there. */
  timeZone: string;
}) {
  const [items, setItems] = useState<Transfer[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [failedOnly, setFailedOnly] = useState(false);
  const [upTo, setUpTo] = useState("");
  const outbound = props.connection.direction === "outbound";
  const base = `/connections/${props.connection.id}/transfers?order=desc&limit=50${failedOnly ? "&failed=true" : ""}${
    upTo ? `&until=${encodeURIComponent(endOfDay(upTo, props.timeZone).toISOString())}` : ""
  }`;

  const load = useCallback(async () => {
    const page = await api<Page<Transfer> & { total: number }>("GET", `${base}&withTotal=true`);
    setItems(page.items);
    setCursor(page.nextCursor);
    setTotal(page.total);
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

  const { focus } = props;
  useEffect(() => {
    if (!focus?.errors) return;
    setOpen(focus.id);
    document.querySelector(`tr[data-transfer="${focus.id}"]`)?.scrollIntoView({ block: "center" });
  }, [focus]);

  const more = async () => {
    if (!cursor) return;
    const page = await api<Page<Transfer>>("GET", `${base}&cursor=${cursor}`);
    setItems((list) => [...(list ?? []), ...page.items]);
    setCursor(page.nextCursor);
  };

  return (
    <div className="card" id="history">
      <div className="page-head">
        <h2>
          History{" "}
          {total !== null && (
            <span className="muted" data-testid="history-total">
              {plural(total, "file")}
              {failedOnly && " with failures"}
              {upTo && ` up to ${upTo}`}
            </span>
          )}
        </h2>
        <button type="button" className="secondary small" onClick={props.onRefresh}>
          Refresh
        </button>
      </div>
      <fieldset className="filters history-filters">
        <legend className="sr-only">Show</legend>
        <Checkbox label="Only files with failures" checked={failedOnly} onChange={setFailedOnly} />
        <TextField label="Up to day" type="date" value={upTo} onChange={setUpTo} />
      </fieldset>
      {!items && <Loading />}
      {items && items.length === 0 && (failedOnly || upTo) && <p className="muted">No files match.</p>}
      {items && items.length === 0 && !failedOnly && !upTo && (
        <p className="muted">
          No files yet.
          {props.connection.methodology === "pull_from_third_party" &&
            (props.connection.activity.problem?.source === "pull"
              ? ` ${problemText(props.connection.activity.problem)} Each attempt is listed under Pulls above.`
              : " Each pull from your server is listed under Pulls above, with what it found.")}
        </p>
      )}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="list" data-testid="history">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">Status</th>
                {/* A generated file has rows and downloads, not rows taken and refused. */}
                <th scope="col">{outbound ? "Rows" : "Rows ok"}</th>
                <th scope="col">{outbound ? "Downloads" : "Rows failed"}</th>
                <th scope="col">Files</th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <TransferRow
                  key={t.id}
                  t={t}
                  marked={focus?.id === t.id}
                  open={open === t.id}
                  toggle={() => setOpen(open === t.id ? null : t.id)}
                  onReprocessed={load}
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

/** Statuses of received files that can be processed again. */
const DONE = new Set(["processed", "partial", "rejected", "validated", "failed", "duplicate"]);

export function TransferRow(props: {
  t: Transfer;
  open: boolean;
  toggle: () => void;
  marked?: boolean;
  /** After "Process again" made a new attempt (a new row). */
  onReprocessed?: () => void;
}) {
  const { t } = props;
  const results = t.results;
  const hasErrors = results?.some((r) => r.kind === "errors");
  const [problem, setProblem] = useState<string | null>(null);
  const [processAgain, busy] = useOnce(async () => {
    setProblem(null);
    try {
      await api("POST", `/transfers/${t.id}/reprocess`);
      props.onReprocessed?.();
    } catch (err) {
      setProblem((err as Error).message);
    }
  });
  const canAgain = t.direction === "inbound" && t.contentAvailable && DONE.has(t.status);
  return (
    <>
      <tr
        data-transfer={t.id}
        className={props.marked ? "marked" : undefined}
        aria-current={props.marked || undefined}
      >
        <td data-label="Time">{when(t.createdAt)}</td>
        <td data-label="File" className="file">
          {t.fileName}
          {t.reprocessOf && <div className="muted small">Processed again</div>}
        </td>
        <td data-label="Size">{bytes(t.size)}</td>
        <td data-label="Status">
          <StatusBadge status={t.status} />
          {t.error && <div className="muted small">{t.error}</div>}
        </td>
        {t.direction === "outbound" ? (
          <>
            <td data-label="Rows" className="num">
              {t.rows ? t.rows.total : "—"}
            </td>
            <td data-label="Downloads" className="num">
              {t.downloadCount}
            </td>
          </>
        ) : (
          <>
            <td data-label="Rows ok" className="num">
              {t.rows ? t.rows.ok : "—"}
            </td>
            <td data-label="Rows failed" className="num">
              {t.rows ? t.rows.error : "—"}
            </td>
          </>
        )}
        <td data-label="Files" className="downloads">
          {t.contentAvailable ? (
            <a href={`/api/v1/transfers/${t.id}/content`} download aria-label={`Original ${t.fileName}`}>
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
          {canAgain && (
            <BusyButton className="link" busy={busy} busyLabel="Starting…" onClick={processAgain}>
              {t.status === "duplicate" ? "Accept and process" : "Process again"}
            </BusyButton>
          )}
          {problem && (
            <div className="error small" role="alert">
              {problem}
            </div>
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

export const SHOWN_ERRORS = 200;

export function RowErrors(props: { transferId: string }) {
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
