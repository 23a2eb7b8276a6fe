/**
 * Uploading a file to an inbound connection from the browser (the same pipeline as SFTP/FTP). The notice
 * follows the file until it is processed and then says what came of it ("5 rows: 1 ok, 4 failed"), with a
 * way to the refused rows; the history marks the new file's row.
 */
import { type FormEvent, useEffect, useRef, useState } from "react";
import { api, type Connection, type Transfer } from "../api";
import { bytes } from "../labels";
import { BusyButton, Notice, useOnce } from "../ui";

/** How long the notice follows a file before it leaves the rest to the history. */
const FOLLOW_MS = 120_000;
const BUSY = new Set(["received", "processing"]);

const plural = (n: number, word: string) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

/** What a finished (or still running) file's notice says. */
function outcome(t: Transfer): { kind: "success" | "warning" | "error" | "info"; text: string } {
  const name = t.fileName;
  if (BUSY.has(t.status)) return { kind: "info", text: `${name} received (${bytes(t.size)}): processing…` };
  if (t.status === "duplicate")
    return { kind: "warning", text: `${name}: same content as an earlier file, recorded as a duplicate.` };
  if (t.status === "failed")
    return { kind: "error", text: `${name} was not processed: ${t.error ?? "the file could not be read"}` };
  const rows = t.rows ?? { total: 0, ok: 0, error: 0 };
  const counts = `${plural(rows.total, "row")}: ${rows.ok.toLocaleString()} ok, ${rows.error.toLocaleString()} failed`;
  if (t.status === "validated")
    return {
      kind: rows.error ? "warning" : "success",
      text: `${name} checked (nothing applied). ${counts}.`,
    };
  if (t.status === "rejected")
    return { kind: "error", text: `${name} rejected: every row was refused. ${counts}.` };
  if (t.status === "partial") return { kind: "warning", text: `${name} partly processed. ${counts}.` };
  return { kind: "success", text: `${name} processed. ${counts}.` };
}

export function Upload(props: {
  connection: Connection;
  /** A file was sent (its Transfer id): the page reloads its history, which marks that row. */
  onUploaded: (transferId: string) => void;
  /** "View errors" in the notice: the history opens that file's refused rows. */
  onViewErrors: (transferId: string) => void;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [sent, setSent] = useState<{ transfer: Transfer; since: number } | null>(null);
  const { onUploaded } = props;

  // Follow the file until it is processed; the history reloads when it is.
  useEffect(() => {
    if (!sent || !BUSY.has(sent.transfer.status) || Date.now() - sent.since > FOLLOW_MS) return;
    const timer = setTimeout(async () => {
      try {
        const transfer = await api<Transfer>("GET", `/transfers/${sent.transfer.id}`);
        setSent({ ...sent, transfer });
        if (!BUSY.has(transfer.status)) onUploaded(transfer.id);
      } catch {
        setSent({ ...sent, since: 0 });
      }
    }, 700);
    return () => clearTimeout(timer);
  }, [sent, onUploaded]);

  const [upload, busy] = useOnce(async (e: FormEvent) => {
    e.preventDefault();
    const file = input.current?.files?.[0];
    if (!file) {
      setFailure("Choose a file first");
      return;
    }
    try {
      const t = await api<Transfer>(
        "POST",
        `/connections/${props.connection.id}/files?name=${encodeURIComponent(file.name)}`,
        file,
      );
      setFailure(null);
      setSent({ transfer: t, since: Date.now() });
      if (input.current) input.current.value = "";
      onUploaded(t.id);
    } catch (err) {
      setFailure((err as Error).message);
    }
  });
  const said = sent && outcome(sent.transfer);
  return (
    <form className="card upload" onSubmit={upload} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a file</h2>
      <p className="muted">Goes through the same processing as files sent by SFTP, FTP or email.</p>
      <div className="row">
        <label htmlFor="upload-file" className="sr-only">
          File to upload
        </label>
        <input id="upload-file" type="file" ref={input} />
        <BusyButton type="submit" busy={busy} busyLabel="Uploading…">
          Upload
        </BusyButton>
      </div>
      {failure && <Notice kind="error">{failure}</Notice>}
      {!failure && said && sent && (
        <div data-testid="upload-result">
          <Notice kind={said.kind}>
            {said.text}
            {(sent.transfer.rows?.error ?? 0) > 0 && (
              <>
                {" "}
                <button type="button" className="link" onClick={() => props.onViewErrors(sent.transfer.id)}>
                  View errors
                </button>
              </>
            )}
          </Notice>
        </div>
      )}
    </form>
  );
}
