/**
 * Settings → Account → Audit log: everything done in the account — logins over every protocol, uploads,
 * downloads, changes, sign-ins, token use — newest first, narrowed by kind, time and object, with more on
 * request and the same selection as a CSV download.
 */
import { useCallback, useEffect, useState } from "react";
import { type AuditEvent, api, type Page } from "../api";
import { when } from "../labels";
import { Loading, Notice, SelectField, TextField } from "../ui";

/** Kinds of events, as the filter offers them: an action, or a family of them (ending in a dot). */
const KINDS: [string, string][] = [
  ["", "Everything"],
  ["login.", "File client logins (SFTP, FTP)"],
  ["user.", "Web sign-ins and users"],
  ["transfer.uploaded", "Uploads through the API and web"],
  ["transfer.downloaded", "Downloads"],
  ["transfer.reprocessed", "Files processed again"],
  ["transfer.duplicate_accepted", "Duplicates accepted"],
  ["connection.", "Connection changes"],
  ["credential.", "Credential changes"],
  ["token.", "API tokens"],
  ["account.", "Account settings"],
];

const BY: Record<string, string> = {
  user: "a user",
  token: "an API token",
  credential: "a file client",
  system: "Ferry",
};

/** A date field's value (YYYY-MM-DD, the browser's day) as the start of that day in ISO 8601. */
const dayStart = (day: string) => (day ? new Date(`${day}T00:00:00`).toISOString() : "");

function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
    .join(", ");
}

export function AuditPage() {
  const [kind, setKind] = useState("");
  const [since, setSince] = useState("");
  const [until, setUntil] = useState("");
  const [items, setItems] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const query = useCallback(() => {
    const q = new URLSearchParams();
    if (kind) q.set("action", kind);
    if (since) q.set("since", dayStart(since));
    // Until a day: up to the end of it.
    if (until) q.set("until", new Date(new Date(`${until}T00:00:00`).getTime() + 86_400_000).toISOString());
    return q;
  }, [kind, since, until]);

  const load = useCallback(
    async (cursor: string | null) => {
      setBusy(true);
      setError(null);
      try {
        const q = query();
        q.set("order", "desc");
        q.set("limit", "50");
        if (cursor) q.set("cursor", cursor);
        const page = await api<Page<AuditEvent>>("GET", `/audit?${q}`);
        setItems((old) => (cursor && old ? [...old, ...page.items] : page.items));
        setNext(page.nextCursor);
      } catch (e) {
        setError((e as Error).message);
      } finally {
        setBusy(false);
      }
    },
    [query],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <p className="muted">
        Everything done in this account, newest first: who did it (a user, an API token, a file client's
        login), to what, from which address. Events are kept for a year.
      </p>
      <div className="filters" data-testid="audit-filters">
        <SelectField label="Kind" value={kind} onChange={setKind} options={KINDS} />
        <TextField label="From (day)" type="date" value={since} onChange={setSince} />
        <TextField label="To (day, included)" type="date" value={until} onChange={setUntil} />
        <p>
          <a className="button secondary" href={`/api/v1/audit.csv?${query()}`} download>
            Download as CSV
          </a>
        </p>
      </div>
      {error && <Notice kind="error">{error}</Notice>}
      {items === null ? (
        <Loading />
      ) : items.length === 0 ? (
        <p className="muted">No events match.</p>
      ) : (
        <table className="list" data-testid="audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">By</th>
              <th scope="col">On</th>
              <th scope="col">From</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {items.map((e) => (
              <tr key={e.id}>
                <td>{when(e.at)}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{BY[e.actorType] ?? e.actorType}</td>
                <td>{e.objectType}</td>
                <td>{e.ip ?? "—"}</td>
                <td className="muted small">{detailsText(e.details)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next && (
        <p>
          <button type="button" className="secondary" disabled={busy} onClick={() => load(next)}>
            {busy ? "Loading…" : "Show older events"}
          </button>
        </p>
      )}
    </section>
  );
}
