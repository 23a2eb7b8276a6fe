/** The method's settings: push, pull (the server to log in to) or outbound delivery; Ferry's own key. */
import { useEffect, useState } from "react";
import { api } from "../api";
import { PgpSettings } from "../connection/pgp";
import { COMPRESSIONS, DELIMITERS, ENCODINGS, METHODS, WEEKDAYS } from "../labels";
import { BusyButton, Checkbox, Copyable, Notice, SelectField, TextField, useOnce } from "../ui";
import type { StepProps } from "./state";
import { DEFAULT_PORTS, type WizardState } from "./state";

/** What "Test connection" answered (POST /connections/test). */
interface TestResult {
  ok: boolean;
  host: string;
  port: number;
  username: string;
  hostKey: string | null;
  folder: string;
  files: number;
  sample: string[];
  error: { code: string; message: string } | null;
}

/**
 * "Test connection": logs in with what is typed (or the saved connection's password), lists the folder and
 * shows the host key or certificate to trust — before anything is saved. Nothing is pulled or written.
 */
function TestLogin({ s, set, connectionId }: StepProps) {
  const [result, setResult] = useState<TestResult | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [run, busy] = useOnce(async () => {
    setFailure(null);
    try {
      setResult(
        await api<TestResult>("POST", "/connections/test", {
          ...(connectionId ? { connectionId } : {}),
          method: s.method,
          host: s.host.trim(),
          port: Number(s.port || DEFAULT_PORTS[s.method]),
          username: s.username,
          ...(s.password ? { password: s.password } : {}),
          ...(s.method === "sftp" ? { authMethod: s.authMethod } : {}),
          ...(s.method === "ftp" ? { security: s.security } : {}),
          ...(s.method === "email"
            ? { tls: s.security !== "none", mailbox: s.mailbox || "INBOX" }
            : { folder: s.folder }),
          ...(s.hostKeyFingerprint ? { hostKeyFingerprint: s.hostKeyFingerprint } : {}),
        }),
      );
    } catch (e) {
      setResult(null);
      setFailure((e as Error).message);
    }
  });
  const where = s.method === "email" ? "The mailbox" : result?.folder;
  return (
    <div className="test-login" data-testid="test-login">
      <BusyButton className="secondary" onClick={run} busy={busy} busyLabel="Testing…">
        Test connection
      </BusyButton>
      {failure && <Notice kind="error">{failure}</Notice>}
      {result?.ok && (
        <Notice kind="success">
          Logged in to {result.host}:{result.port} as {result.username}. {where} holds {result.files}{" "}
          {result.files === 1 ? "file" : "files"}
          {result.sample.length > 0 &&
            `: ${result.sample.join(", ")}${result.files > result.sample.length ? ", …" : ""}`}
          . Nothing was taken.
        </Notice>
      )}
      {result && !result.ok && (
        <Notice kind="error">{`The test failed: ${result.error?.message ?? "no reason given"}.`}</Notice>
      )}
      {result?.hostKey && (
        <p className="row">
          <span>
            {s.method === "sftp" ? "Host key" : "Certificate"} <code>{result.hostKey}</code>
          </span>
          {s.hostKeyFingerprint === result.hostKey ? (
            <span className="muted">trusted: pinned when you save</span>
          ) : (
            <button
              type="button"
              className="secondary small"
              onClick={() => set({ hostKeyFingerprint: result.hostKey! })}
            >
              Trust this key
            </button>
          )}
        </p>
      )}
    </div>
  );
}

export function MethodDetails({ s, set, errors, connectionId }: StepProps) {
  const pull = s.methodology === "pull_from_third_party";
  return (
    <>
      {s.direction === "outbound" && s.method === "email" && (
        <TextField
          label="Recipients"
          value={s.recipients}
          onChange={(recipients) => set({ recipients })}
          error={errors["details.recipients"]}
          hint="Email addresses, separated by commas"
        />
      )}
      {s.direction === "inbound" && s.methodology === "push_to_platform" && s.method === "email" && (
        <div className="grid">
          <TextField
            label="Attachment pattern"
            value={s.filePattern}
            onChange={(filePattern) => set({ filePattern })}
            error={errors["details.filePattern"]}
            placeholder="*"
            hint="Attachments whose names match, e.g. conversions_*.csv"
          />
          <TextField
            label="Return address (optional)"
            value={s.returnAddress}
            onChange={(returnAddress) => set({ returnAddress })}
            error={errors["details.returnAddress"]}
            hint="Receipts and results are emailed here"
          />
        </div>
      )}
      {pull && (
        <fieldset>
          <legend>Your server</legend>
          <div className="grid">
            <ServerLogin s={s} set={set} errors={errors} />
            {s.method === "email" ? (
              <TextField
                label="Mailbox folder"
                value={s.mailbox}
                onChange={(mailbox) => set({ mailbox })}
                error={errors["details.mailbox"]}
              />
            ) : (
              <TextField
                label="Folder"
                value={s.folder}
                onChange={(folder) => set({ folder })}
                error={errors["details.folder"]}
                hint="Absolute path, e.g. /outgoing"
              />
            )}
            <TextField
              label="File pattern"
              value={s.filePattern}
              onChange={(filePattern) => set({ filePattern })}
              error={errors["details.filePattern"]}
              placeholder="conversions_*.csv"
              hint="An exact name, or * and ? as wildcards"
            />
            {s.method !== "email" && (
              <>
                <TextField
                  label="Result folder (optional)"
                  value={s.resultFolder}
                  onChange={(resultFolder) => set({ resultFolder })}
                  error={errors["details.resultFolder"]}
                  hint="Receipts and result files are uploaded here"
                />
                <TextField
                  label="Pull every (minutes)"
                  value={s.pullEveryMinutes}
                  onChange={(pullEveryMinutes) => set({ pullEveryMinutes })}
                  error={errors["details.pullEveryMinutes"]}
                />
              </>
            )}
            {s.method === "ftp" && <FtpSecurity s={s} set={set} errors={errors} />}
            {s.method === "email" && (
              <SelectField
                label="Security"
                value={s.security === "none" ? "none" : "explicit"}
                onChange={(security) => set({ security })}
                options={[
                  ["explicit", "IMAP over TLS (port 993)"],
                  ["none", "Plain IMAP (not encrypted)"],
                ]}
              />
            )}
          </div>
          {s.method === "sftp" && s.authMethod === "key" && <FerryKey />}
          <TestLogin s={s} set={set} errors={errors} connectionId={connectionId} />
          {s.method !== "email" && (
            <Checkbox
              label="Delete files on your server after they are pulled"
              checked={s.deleteAfterPull}
              onChange={(deleteAfterPull) => set({ deleteAfterPull })}
              hint="Off is recommended: files are recognised and never pulled twice."
            />
          )}
        </fieldset>
      )}
      {s.direction === "outbound" && s.method !== "email" && (
        <fieldset>
          <legend>Delivery</legend>
          <Checkbox
            label={`Also deliver each file to your own ${METHODS[s.method]} server`}
            checked={s.deliverToServer}
            onChange={(deliverToServer) => set({ deliverToServer })}
            hint="Files are uploaded under a temporary name and renamed when complete; they stay in outbox/ too."
          />
          {s.deliverToServer && (
            <>
              <div className="grid">
                <ServerLogin s={s} set={set} errors={errors} />
                <TextField
                  label="Folder"
                  value={s.folder}
                  onChange={(folder) => set({ folder })}
                  error={errors["details.folder"]}
                  hint="Absolute path, e.g. /incoming"
                />
                {s.method === "ftp" && <FtpSecurity s={s} set={set} errors={errors} />}
              </div>
              {s.method === "sftp" && s.authMethod === "key" && <FerryKey />}
              <TestLogin s={s} set={set} errors={errors} connectionId={connectionId} />
            </>
          )}
        </fieldset>
      )}
      <PgpSettings s={s} set={set} errors={errors} />
      {s.direction === "inbound" && (
        <fieldset>
          <legend>Processing</legend>
          <Checkbox
            label="All or nothing: refuse the whole file when any row is wrong"
            checked={s.allOrNothing}
            onChange={(allOrNothing) => set({ allOrNothing })}
          />
          <Checkbox
            label="Validate only: check files completely but apply nothing (to test a feed)"
            checked={s.validateOnly}
            onChange={(validateOnly) => set({ validateOnly })}
          />
          <SelectField
            label="Errors file compression"
            value={s.errorsCompression}
            onChange={(errorsCompression) => set({ errorsCompression })}
            options={COMPRESSIONS}
            hint="The file of refused rows can be as large as the file sent: compress it for large feeds."
          />
          <SelectField
            label="File encoding"
            value={s.encoding}
            onChange={(encoding) => set({ encoding })}
            options={ENCODINGS}
            hint="Automatic reads a byte-order mark, then UTF-8; a file in another encoding is detected. Choose one when your system always writes it."
          />
          <SelectField
            label="Delimiter"
            value={s.delimiter}
            onChange={(delimiter) => set({ delimiter })}
            options={DELIMITERS}
            hint="Automatic picks the one under which the header's columns are recognised."
          />
          <Checkbox
            label="Expect a file on set days: raise a file.missing event when none has come by a time"
            checked={s.expectFiles}
            onChange={(expectFiles) => set({ expectFiles })}
          />
          {s.expectFiles && (
            <fieldset>
              <legend>Expected on</legend>
              {WEEKDAYS.map((day) => (
                <Checkbox
                  key={day}
                  label={day[0]!.toUpperCase() + day.slice(1)}
                  checked={s.expectDays.includes(day)}
                  onChange={(on) =>
                    set({ expectDays: on ? [...s.expectDays, day] : s.expectDays.filter((d) => d !== day) })
                  }
                />
              ))}
              <TextField
                label="Expected by"
                value={s.expectBy}
                onChange={(expectBy) => set({ expectBy })}
                hint="HH:MM, in the account's time zone: a file received that day by then."
                error={errors["details.expectFiles.by"] ?? errors["details.expectFiles.days"]}
              />
            </fieldset>
          )}
        </fieldset>
      )}
    </>
  );
}

/** Host, port, login and password (or Ferry's key) of the customer's own server. */
export function ServerLogin({ s, set, errors }: StepProps) {
  return (
    <>
      <TextField
        label={s.method === "email" ? "IMAP host" : "Host"}
        value={s.host}
        onChange={(host) => set({ host, hostKeyFingerprint: "" })}
        error={errors["details.host"]}
      />
      <TextField
        label="Port"
        value={s.port}
        onChange={(port) => set({ port, hostKeyFingerprint: "" })}
        placeholder={DEFAULT_PORTS[s.method]}
        error={errors["details.port"]}
      />
      <TextField
        label="Username"
        value={s.username}
        onChange={(username) => set({ username })}
        error={errors["details.username"]}
        autoComplete="off"
      />
      {s.method === "sftp" && (
        <SelectField
          label="Log in with"
          value={s.authMethod}
          onChange={(authMethod) => set({ authMethod: authMethod as WizardState["authMethod"] })}
          options={[
            ["password", "A password"],
            ["key", "Ferry's key (install its public key on your server)"],
          ]}
        />
      )}
      {!(s.method === "sftp" && s.authMethod === "key") && (
        <TextField
          label="Password"
          type="password"
          value={s.password}
          onChange={(password) => set({ password })}
          error={errors["details.password"]}
          autoComplete="new-password"
          hint={
            s.passwordStored ? "Leave empty to keep the stored one" : "Stored encrypted; never shown again"
          }
        />
      )}
    </>
  );
}

export function FtpSecurity({ s, set }: StepProps) {
  return (
    <SelectField
      label="Security"
      value={s.security}
      onChange={(security) => set({ security })}
      options={[
        ["explicit", "FTPS, explicit (AUTH TLS)"],
        ["implicit", "FTPS, implicit"],
        ["none", "Plain FTP (not encrypted)"],
      ]}
    />
  );
}

/** The public key Ferry logs in with, for the user's authorized_keys. */
export function FerryKey() {
  const [key, setKey] = useState<{ publicKey: string; fingerprint: string } | null>(null);
  useEffect(() => {
    api<{ publicKey: string; fingerprint: string }>("GET", "/ssh-key").then(setKey);
  }, []);
  if (!key) return null;
  return (
    <div className="ferry-key">
      <p className="muted">Add this line to ~/.ssh/authorized_keys of the login on your server:</p>
      <Copyable label="Ferry's public key" value={key.publicKey} />
      <p className="muted small">Fingerprint {key.fingerprint}</p>
    </div>
  );
}
