/** Uploading a file to an inbound connection from the browser (the same pipeline as SFTP/FTP). */
import { type FormEvent, useRef, useState } from "react";
import { api, type Connection, type Transfer } from "../api";
import { bytes } from "../labels";
import { Notice } from "../ui";

export function Upload(props: { connection: Connection; onUploaded: () => void }) {
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
