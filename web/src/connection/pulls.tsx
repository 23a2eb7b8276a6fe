/** A pull connection's health on its page: its latest pulls, and accepting a changed host key. */
import { useCallback, useEffect, useRef, useState } from "react";
import { api, type Connection, type Pull } from "../api";
import { when } from "../labels";
import { Notice, StatusBadge } from "../ui";
import { FerryKey } from "../wizard/method-details";

/** A pull connection's health: its latest pulls, and what to do about a changed host key. */
export function Pulls(props: { connection: Connection; refresh: number; onChanged: () => void }) {
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
  // Follow a pull under way; when it ends, the page reads the connection again (its Status says the outcome).
  const following = useRef(false);
  const { onChanged } = props;
  useEffect(() => {
    const open = pulls?.some((p) => p.status === "pending" || p.status === "running") ?? false;
    if (following.current && !open) onChanged();
    following.current = open;
    if (!open) return;
    const timer = setTimeout(load, 1000);
    return () => clearTimeout(timer);
  }, [pulls, load, onChanged]);
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
