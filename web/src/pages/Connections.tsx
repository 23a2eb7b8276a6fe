/**
 * Settings → Technical → Connections: every connection with its latest activity, filters, and Create. Long
 * lists show a page of rows at a time (the rest on request), and say how many disabled ones are hidden.
 */
import { useEffect, useMemo, useState } from "react";
import { all, type Connection } from "../api";
import { ACTIVITY, DATA_TYPES, METHODOLOGIES, METHODS, problemText, when } from "../labels";
import { CONNECTIONS } from "../paths";
import { Link } from "../router";
import { ActivityBadge, Loading, Notice, SelectField } from "../ui";

/** Rows drawn at first, and added by each "Show more": a few hundred rows are drawn at once, not thousands. */
const PAGE_ROWS = 100;

export function Connections() {
  const [items, setItems] = useState<Connection[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [direction, setDirection] = useState("");
  const [method, setMethod] = useState("");
  const [activity, setActivity] = useState("");
  const [status, setStatus] = useState("active");
  const [text, setText] = useState("");
  const [rows, setRows] = useState(PAGE_ROWS);

  useEffect(() => {
    all<Connection>("/connections")
      .then(setItems)
      .catch((e) => setError(e.message));
  }, []);

  const shown = useMemo(
    () =>
      (items ?? [])
        .filter((c) => !direction || c.direction === direction)
        .filter((c) => !method || c.method === method)
        .filter((c) => !activity || c.activity.status === activity)
        .filter((c) => !status || c.status === status)
        .filter((c) => !text || c.name.toLowerCase().includes(text.toLowerCase()))
        .sort((a, b) =>
          (b.activity.lastActiveAt ?? b.createdAt).localeCompare(a.activity.lastActiveAt ?? a.createdAt),
        ),
    [items, direction, method, activity, status, text],
  );
  const hiddenDisabled =
    status === "active" ? (items ?? []).filter((c) => c.status === "disabled").length : 0;

  return (
    <section aria-labelledby="connections-title">
      <div className="page-head">
        <h1 id="connections-title">Connections</h1>
        <Link className="button" href={`${CONNECTIONS}/new`}>
          Create Connection
        </Link>
      </div>
      <fieldset className="filters">
        <legend className="sr-only">Filter connections</legend>
        <div className="field">
          <label htmlFor="filter-name">Name</label>
          <input id="filter-name" type="search" value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <SelectField
          label="Direction"
          value={direction}
          onChange={setDirection}
          options={[
            ["", "All"],
            ["inbound", "Inbound"],
            ["outbound", "Outbound"],
          ]}
        />
        <SelectField
          label="Method"
          value={method}
          onChange={setMethod}
          options={[["", "All"], ...Object.entries(METHODS)]}
        />
        <SelectField
          label="Status"
          value={activity}
          onChange={setActivity}
          options={[["", "All"], ...Object.entries(ACTIVITY)]}
        />
        <SelectField
          label="Show"
          value={status}
          onChange={setStatus}
          options={[
            ["active", "Enabled"],
            ["disabled", "Disabled"],
            ["", "All"],
          ]}
        />
      </fieldset>
      {error && <Notice kind="error">{error}</Notice>}
      {!items && !error && <Loading />}
      {items && items.length === 0 && (
        <Notice kind="info">
          No connections yet. <Link href={`${CONNECTIONS}/new`}>Create your first connection</Link> to
          exchange files with the platform.
        </Notice>
      )}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Direction</th>
                <th scope="col">Method</th>
                <th scope="col">Push / Pull</th>
                <th scope="col">Status</th>
                <th scope="col">Last Active</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.slice(0, rows).map((c) => (
                <tr key={c.id} className={c.status === "disabled" ? "disabled" : undefined}>
                  <td data-label="Name">
                    <Link href={`${CONNECTIONS}/${c.id}`}>{c.name}</Link>
                    {c.status === "disabled" && <span className="badge muted-badge">Disabled</span>}
                  </td>
                  <td data-label="Type">{DATA_TYPES[c.dataType]?.label ?? c.dataType}</td>
                  <td data-label="Direction">{c.direction === "inbound" ? "Inbound" : "Outbound"}</td>
                  <td data-label="Method">{METHODS[c.method]}</td>
                  <td data-label="Push / Pull">{METHODOLOGIES[c.methodology]}</td>
                  <td
                    data-label="Status"
                    title={c.activity.problem ? problemText(c.activity.problem) : undefined}
                  >
                    <ActivityBadge status={c.activity.status} />
                  </td>
                  <td data-label="Last Active">{when(c.activity.lastActiveAt)}</td>
                  <td className="actions">
                    <Link href={`${CONNECTIONS}/${c.id}?edit=1`} aria-label={`Edit ${c.name}`}>
                      Edit
                    </Link>
                    <Link href={`${CONNECTIONS}/${c.id}#history`} aria-label={`View history of ${c.name}`}>
                      View History
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length === 0 && <p className="muted">No connection matches these filters.</p>}
          <p className="row muted" data-testid="list-foot">
            {shown.length > rows
              ? `Showing ${rows} of ${shown.length} connections.`
              : `${shown.length} connection${shown.length === 1 ? "" : "s"}.`}
            {shown.length > rows && (
              <button type="button" className="secondary small" onClick={() => setRows((n) => n + PAGE_ROWS)}>
                Show {Math.min(PAGE_ROWS, shown.length - rows)} more
              </button>
            )}
            {hiddenDisabled > 0 && (
              <button type="button" className="link" onClick={() => setStatus("")}>
                {hiddenDisabled} disabled hidden: show them
              </button>
            )}
          </p>
        </div>
      )}
    </section>
  );
}
