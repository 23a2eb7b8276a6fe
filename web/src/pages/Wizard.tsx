/**
 * The Connector wizard: Direction → Type → Method → Credentials → Review, then the created connection's
 * address and next steps. All choices live in one state, so going Back loses nothing.
 */
import { useEffect, useState } from "react";
import { type DataType, validateConnection } from "../../../src/domain/connection-rules";
import { ApiError, all, api, type Connection, type Credential, type Direction, type Session } from "../api";
import {
  DATA_TYPES,
  DIRECTIONS,
  FORMATS,
  FREQUENCIES,
  INBOUND_TYPES,
  METHODOLOGIES,
  METHODS,
  needsCredential,
  OUTBOUND_TYPES,
  REPORTS,
  WEEKDAYS,
} from "../labels";
import { CONNECTIONS, CREDENTIALS } from "../paths";
import { Link } from "../router";
import { Checkbox, Copyable, Notice, SelectField, TextField } from "../ui";
import { CredentialForm, type NewCredential, PublicKeyField, SecretOnce } from "./CredentialForm";

const STEPS = ["Direction", "Type", "Method", "Credentials", "Review"] as const;

interface Schedule {
  frequency: string;
  time: string;
  dayOfWeek: string;
  dayOfMonth: string;
}

export interface WizardState {
  name: string;
  direction: Direction | "";
  dataType: string;
  report: string;
  format: string;
  compression: string;
  schedule: Schedule;
  recipients: string;
  method: "sftp" | "ftp" | "email";
  methodology: "push_to_platform" | "pull_from_third_party" | "pull_from_platform";
  allOrNothing: boolean;
  validateOnly: boolean;
  filePattern: string;
  returnAddress: string;
  host: string;
  port: string;
  username: string;
  password: string;
  folder: string;
  deleteAfterPull: boolean;
  resultFolder: string;
  pullEveryMinutes: string;
  security: string;
  mailbox: string;
  authMethod: "password" | "key";
  deliverToServer: boolean;
  /** Editing: the connection already holds a password (an empty field keeps it). */
  passwordStored?: boolean;
  credentialMode: "existing" | "new";
  credentialId: string;
  newCredential: NewCredential;
}

export const INITIAL: WizardState = {
  name: "",
  direction: "",
  dataType: "",
  report: "performance_by_partner",
  format: "csv",
  compression: "none",
  schedule: { frequency: "daily", time: "02:00", dayOfWeek: "monday", dayOfMonth: "1" },
  recipients: "",
  method: "sftp",
  methodology: "push_to_platform",
  allOrNothing: false,
  validateOnly: false,
  filePattern: "",
  returnAddress: "",
  host: "",
  port: "",
  username: "",
  password: "",
  folder: "/",
  deleteAfterPull: false,
  resultFolder: "",
  pullEveryMinutes: "15",
  security: "explicit",
  mailbox: "INBOX",
  authMethod: "password",
  deliverToServer: false,
  credentialMode: "existing",
  credentialId: "",
  newCredential: { name: "", kind: "public_key", publicKey: "" },
};

export type Errors = Record<string, string>;

const DEFAULT_PORTS: Record<string, string> = { sftp: "22", ftp: "21", email: "993" };

/** The connection's `details` for the API, from the wizard's choices. */
export function detailsOf(s: WizardState): Record<string, unknown> {
  if (s.direction === "outbound") {
    const schedule: Record<string, unknown> = { frequency: s.schedule.frequency };
    if (["daily", "weekly", "monthly"].includes(s.schedule.frequency)) schedule.time = s.schedule.time;
    if (s.schedule.frequency === "weekly") schedule.dayOfWeek = s.schedule.dayOfWeek;
    if (s.schedule.frequency === "monthly") schedule.dayOfMonth = Number(s.schedule.dayOfMonth);
    return {
      schedule,
      format: s.format,
      compression: s.compression,
      ...(s.dataType === "reports" ? { report: s.report } : {}),
      ...(s.method === "email" ? { recipients: splitList(s.recipients) } : {}),
      ...(s.method !== "email" ? { deliverToServer: s.deliverToServer } : {}),
      ...(s.method !== "email" && s.deliverToServer
        ? {
            host: s.host.trim(),
            port: Number(s.port || DEFAULT_PORTS[s.method]),
            username: s.username,
            ...(s.password ? { password: s.password } : {}),
            ...(s.method === "sftp" ? { authMethod: s.authMethod } : { security: s.security }),
            folder: s.folder,
          }
        : {}),
    };
  }
  const inbound = { allOrNothing: s.allOrNothing, validateOnly: s.validateOnly };
  if (s.methodology === "push_to_platform") {
    if (s.method !== "email") return inbound;
    return {
      ...inbound,
      filePattern: s.filePattern || "*",
      ...(s.returnAddress ? { returnAddress: s.returnAddress } : {}),
    };
  }
  const common = {
    ...inbound,
    host: s.host.trim(),
    port: Number(s.port || DEFAULT_PORTS[s.method]),
    username: s.username,
    ...(s.password ? { password: s.password } : {}),
    filePattern: s.filePattern,
  };
  if (s.method === "email") return { ...common, mailbox: s.mailbox || "INBOX", tls: s.security !== "none" };
  return {
    ...common,
    folder: s.folder,
    deleteAfterPull: s.deleteAfterPull,
    ...(s.resultFolder ? { resultFolder: s.resultFolder } : {}),
    pullEveryMinutes: Number(s.pullEveryMinutes),
    ...(s.method === "ftp" ? { security: s.security } : {}),
    ...(s.method === "sftp" ? { authMethod: s.authMethod } : {}),
  };
}

function splitList(v: string): string[] {
  return v
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * The connection rules' verdict (src/domain/connection-rules.ts: the API runs the very same on Create) on the
 * details of one step: formats and ranges (times, days, ports, folders, intervals, addresses…).
 */
function ruleErrors(step: number, s: WizardState): Errors {
  if (!s.direction || !s.dataType) return {};
  const verdict = validateConnection({
    direction: s.direction,
    dataType: s.dataType as DataType,
    method: s.method,
    methodology: s.methodology,
    details: detailsOf(s),
    hasStoredPassword: s.passwordStored ?? false,
  });
  const e: Errors = {};
  if (verdict.ok) return e;
  for (const f of verdict.errors)
    if (f.path.startsWith("details.") && stepOf(f.path) === step && !(f.path in e)) e[f.path] = f.message;
  return e;
}

/**
 * Checks one step in the browser: what is missing, in the wizard's own words, and then the connection rules
 * themselves (ruleErrors). The API checks everything again on Create.
 */
export function checkStep(step: number, s: WizardState): Errors {
  const e: Errors = {};
  if (step === 0) {
    if (!s.name.trim()) e.name = "Give the connection a name";
    else if (s.name.trim().length > 100) e.name = "Use at most 100 characters";
    if (!s.direction) e.direction = "Choose a direction";
  }
  if (step === 1) {
    if (!s.dataType) e.dataType = "Choose a data type";
  }
  if (step === 2) {
    if (s.direction === "outbound" && s.method === "email" && splitList(s.recipients).length === 0)
      e["details.recipients"] = "Give at least one email address";
    const pushes = s.direction === "outbound" && s.method !== "email" && s.deliverToServer;
    if (pushes) {
      if (!s.host.trim()) e["details.host"] = "Give the server's host name or IP address";
      if (!s.username) e["details.username"] = "Give the login on that server";
      if (!s.password && !(s.method === "sftp" && s.authMethod === "key") && !s.passwordStored)
        e["details.password"] = "Give the password of that login (kept encrypted, never shown)";
    }
    if (s.methodology === "pull_from_third_party") {
      if (!s.host.trim()) e["details.host"] = "Give the server's host name or IP address";
      if (!s.username) e["details.username"] = "Give the login on that server";
      if (!s.password && !(s.method === "sftp" && s.authMethod === "key") && !s.passwordStored)
        e["details.password"] = "Give the password of that login (kept encrypted, never shown)";
      if (!s.filePattern)
        e["details.filePattern"] = "Give a file name or a pattern such as conversions_*.csv";
    }
  }
  if (step === 3 && needsCredential(s.method, s.methodology) && !s.credentialId) {
    e.credentialId =
      s.credentialMode === "new"
        ? "Create the credential first, or choose an existing one"
        : "Choose a credential";
  }
  return step === 1 || step === 2 ? { ...ruleErrors(step, s), ...e } : e;
}

/** The wizard's state for an existing connection (for its Edit form). */
export function stateOf(c: Connection): WizardState {
  const d = c.details as Record<string, never>;
  const sch = (d.schedule ?? {}) as Record<string, unknown>;
  const str = (v: unknown, dflt = "") => (v === undefined || v === null ? dflt : String(v));
  return {
    ...INITIAL,
    name: c.name,
    direction: c.direction,
    dataType: c.dataType,
    method: c.method,
    methodology: c.methodology,
    credentialId: c.credentialId ?? "",
    report: str(d.report, INITIAL.report),
    format: str(d.format, INITIAL.format),
    compression: str(d.compression, INITIAL.compression),
    schedule: {
      frequency: str(sch.frequency, "daily"),
      time: str(sch.time, "02:00"),
      dayOfWeek: str(sch.dayOfWeek, "monday"),
      dayOfMonth: str(sch.dayOfMonth, "1"),
    },
    recipients: Array.isArray(d.recipients) ? (d.recipients as string[]).join(", ") : "",
    allOrNothing: d.allOrNothing === true,
    validateOnly: d.validateOnly === true,
    filePattern: str(d.filePattern),
    returnAddress: str(d.returnAddress),
    host: str(d.host),
    port: str(d.port),
    username: str(d.username),
    password: "",
    folder: str(d.folder, "/"),
    deleteAfterPull: d.deleteAfterPull === true,
    resultFolder: str(d.resultFolder),
    pullEveryMinutes: str(d.pullEveryMinutes, "15"),
    security: c.method === "email" ? (d.tls === false ? "none" : "explicit") : str(d.security, "explicit"),
    authMethod: d.authMethod === "key" ? "key" : "password",
    passwordStored: d.passwordSet === true,
    deliverToServer: d.deliverToServer === true,
    mailbox: str(d.mailbox, "INBOX"),
  };
}

/**
 * Whether the browser checks a field (so an error on it clears once fixed): the wizard's own fields, and every
 * setting in details (the connection rules check them all). Others come from the API and stay until the next
 * Create.
 */
const checkedHere = (path: string) =>
  ["name", "direction", "dataType", "credentialId"].includes(path) || path.startsWith("details.");

/** Which step a field of the API's answer belongs to. */
function stepOf(path: string): number {
  if (path === "name" || path === "direction") return 0;
  if (path === "dataType" || /^details\.(report|format|compression|schedule|fileNameTemplate)/.test(path))
    return 1;
  if (path === "credentialId") return 3;
  return 2;
}

export function Wizard(props: { session: Session }) {
  const [s, setState] = useState<WizardState>(INITIAL);
  const [step, setStep] = useState(0);
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const [createdCredential, setCreatedCredential] = useState<Credential | null>(null);
  const [created, setCreated] = useState<Connection | null>(null);
  const [busy, setBusy] = useState(false);
  // A change clears the messages it fixes; the others stay until the next check.
  const set = (patch: Partial<WizardState>) => {
    const updated = { ...s, ...patch };
    setState(updated);
    setErrors((current) => {
      if (Object.keys(current).length === 0) return current;
      const still = checkStep(step, updated);
      return Object.fromEntries(Object.entries(current).filter(([k]) => k in still || !checkedHere(k)));
    });
  };

  useEffect(() => {
    all<Credential>("/credentials")
      .then(setCredentials)
      .catch((e) => setFailure(e.message));
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: move focus to the new step's title on each step.
  useEffect(() => {
    document.getElementById("wizard-step-title")?.focus();
  }, [step, created]);

  const next = () => {
    const e = checkStep(step, s);
    setErrors(e);
    if (Object.keys(e).length === 0) setStep(step + 1);
  };
  const back = () => {
    setErrors({});
    setStep(step - 1);
  };

  const chooseDirection = (direction: Direction) => {
    if (direction === s.direction) return;
    set({
      direction,
      dataType: "",
      methodology: direction === "outbound" ? "pull_from_platform" : "push_to_platform",
    });
  };

  const create = async () => {
    setBusy(true);
    setFailure(null);
    try {
      const body = {
        name: s.name.trim(),
        direction: s.direction,
        dataType: s.dataType,
        method: s.method,
        methodology: s.methodology,
        ...(needsCredential(s.method, s.methodology) ? { credentialId: s.credentialId } : {}),
        details: detailsOf(s),
      };
      setCreated(await api<Connection>("POST", "/connections", body));
    } catch (e) {
      if (e instanceof ApiError && e.fields.length) {
        const byPath: Errors = {};
        for (const f of e.fields) byPath[f.path] = f.message;
        setErrors(byPath);
        setStep(Math.min(...e.fields.map((f) => stepOf(f.path))));
      }
      setFailure(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (created) return <Created connection={created} credential={createdCredential} />;

  const credential = credentials.find((c) => c.id === s.credentialId);
  return (
    <section className="wizard" aria-labelledby="wizard-title">
      <div className="page-head">
        <h1 id="wizard-title">Create Connection</h1>
        <Link href={CONNECTIONS} className="button secondary">
          Cancel
        </Link>
      </div>
      <ol className="steps" aria-label="Steps">
        {STEPS.map((name, i) => (
          <li
            key={name}
            className={i === step ? "current" : i < step ? "done" : undefined}
            aria-current={i === step ? "step" : undefined}
          >
            <span className="num">{i + 1}</span> {name}
          </li>
        ))}
      </ol>
      <div className="card">
        <h2 id="wizard-step-title" tabIndex={-1}>
          Step {step + 1} of {STEPS.length}: {STEPS[step]}
        </h2>
        {failure && step === 4 && <Notice kind="error">{failure}</Notice>}
        {step === 0 && <DirectionStep s={s} set={set} errors={errors} choose={chooseDirection} />}
        {step === 1 && <TypeStep s={s} set={set} errors={errors} />}
        {step === 2 && <MethodStep s={s} set={set} errors={errors} />}
        {step === 3 && (
          <CredentialsStep
            s={s}
            set={set}
            errors={errors}
            credentials={credentials}
            created={createdCredential}
            onCreated={(c) => {
              setCredentials((list) => [...list, c]);
              setCreatedCredential(c);
              set({ credentialId: c.id, credentialMode: "existing" });
              setErrors({});
            }}
            onEdited={(c) => setCredentials((list) => list.map((x) => (x.id === c.id ? { ...x, ...c } : x)))}
          />
        )}
        {step === 4 && <Review s={s} credential={credential} session={props.session} />}
        <div className="wizard-nav">
          {step > 0 && (
            <button type="button" className="secondary" onClick={back}>
              Back
            </button>
          )}
          {step < 4 && (
            <button type="button" onClick={next}>
              Next
            </button>
          )}
          {step === 4 && (
            <button type="button" onClick={create} disabled={busy}>
              {busy ? "Creating…" : "Create"}
            </button>
          )}
        </div>
      </div>
    </section>
  );
}

export interface StepProps {
  s: WizardState;
  set: (patch: Partial<WizardState>) => void;
  errors: Errors;
}

function DirectionStep(props: StepProps & { choose: (d: Direction) => void }) {
  const { s, set, errors } = props;
  return (
    <>
      <TextField
        label="Connection name"
        value={s.name}
        onChange={(name) => set({ name })}
        error={errors.name}
        hint="Name it after what it carries, e.g. “Daily orders from Shopify”. It also names its folder."
      />
      <fieldset className={errors.direction ? "invalid" : undefined} aria-describedby="direction-error">
        <legend>Direction</legend>
        {(["inbound", "outbound"] as const).map((d) => (
          <label key={d} className="choice">
            <input
              type="radio"
              name="direction"
              checked={s.direction === d}
              onChange={() => props.choose(d)}
            />
            <span>
              <strong>{DIRECTIONS[d]}</strong>
              <span className="muted">
                {d === "inbound"
                  ? "Send files (conversions, modifications, clicks, catalogs) to the platform"
                  : "Get files (reports, performance bonus detail) from the platform"}
              </span>
            </span>
          </label>
        ))}
        {errors.direction && (
          <div className="error" id="direction-error" role="alert">
            {errors.direction}
          </div>
        )}
      </fieldset>
    </>
  );
}

function TypeStep({ s, set, errors }: StepProps) {
  const types = s.direction === "outbound" ? OUTBOUND_TYPES : INBOUND_TYPES;
  return (
    <>
      <fieldset aria-describedby="datatype-error">
        <legend>Data type</legend>
        {types.map((t) => (
          <label key={t} className="choice">
            <input
              type="radio"
              name="dataType"
              checked={s.dataType === t}
              onChange={() => set({ dataType: t })}
            />
            <span>
              <strong>{DATA_TYPES[t]?.label}</strong>
              <span className="muted">{DATA_TYPES[t]?.hint}</span>
            </span>
          </label>
        ))}
        {errors.dataType && (
          <div className="error" id="datatype-error" role="alert">
            {errors.dataType}
          </div>
        )}
      </fieldset>
      {s.direction === "outbound" && s.dataType && <OutboundOptions s={s} set={set} errors={errors} />}
    </>
  );
}

/** Report, format, compression and schedule of an outbound connection. */
export function OutboundOptions({ s, set, errors }: StepProps) {
  const sch = s.schedule;
  const setSchedule = (patch: Partial<Schedule>) => set({ schedule: { ...sch, ...patch } });
  return (
    <div className="grid">
      {s.dataType === "reports" && (
        <SelectField
          label="Report"
          value={s.report}
          onChange={(report) => set({ report })}
          options={Object.entries(REPORTS)}
          error={errors["details.report"]}
        />
      )}
      <SelectField
        label="Format"
        value={s.format}
        onChange={(format) => set({ format })}
        options={Object.entries(FORMATS)}
        error={errors["details.format"]}
      />
      <SelectField
        label="Compression"
        value={s.compression}
        onChange={(compression) => set({ compression })}
        options={[
          ["none", "None"],
          ["gzip", "gzip (.gz)"],
        ]}
      />
      <SelectField
        label="Schedule"
        value={sch.frequency}
        onChange={(frequency) => setSchedule({ frequency })}
        options={Object.entries(FREQUENCIES)}
        error={errors["details.schedule.frequency"] ?? errors["details.schedule"]}
      />
      {["daily", "weekly", "monthly"].includes(sch.frequency) && (
        <TextField
          label="Time (HH:MM)"
          value={sch.time}
          onChange={(time) => setSchedule({ time })}
          error={errors["details.schedule.time"]}
          hint="In the account's time zone"
        />
      )}
      {sch.frequency === "weekly" && (
        <SelectField
          label="Day of week"
          value={sch.dayOfWeek}
          onChange={(dayOfWeek) => setSchedule({ dayOfWeek })}
          options={WEEKDAYS.map((d) => [d, d[0]!.toUpperCase() + d.slice(1)])}
        />
      )}
      {sch.frequency === "monthly" && (
        <TextField
          label="Day of month (1–28)"
          value={sch.dayOfMonth}
          onChange={(dayOfMonth) => setSchedule({ dayOfMonth })}
          error={errors["details.schedule.dayOfMonth"]}
        />
      )}
    </div>
  );
}

function MethodStep({ s, set, errors }: StepProps) {
  const methodologies =
    s.direction === "outbound" ? ["pull_from_platform"] : ["push_to_platform", "pull_from_third_party"];
  return (
    <>
      <div className="grid">
        <SelectField
          label="Method"
          value={s.method}
          onChange={(method) => set({ method: method as WizardState["method"], port: "" })}
          options={Object.entries(METHODS)}
          error={errors.method}
        />
        <SelectField
          label="Methodology"
          value={s.methodology}
          onChange={(m) => set({ methodology: m as WizardState["methodology"] })}
          options={methodologies.map((m) => [m, METHODOLOGIES[m]!])}
          error={errors.methodology}
          hint={
            s.methodology === "push_to_platform"
              ? s.method === "email"
                ? "You email files to an address Ferry gives this connection."
                : "You upload files to Ferry's server with your credential."
              : s.methodology === "pull_from_platform"
                ? s.method === "email"
                  ? "Ferry emails each generated file to the recipients."
                  : "Ferry generates files on schedule; you download them from Ferry's server."
                : "Ferry logs in to your server on a schedule and fetches new files."
          }
        />
      </div>
      <MethodDetails s={s} set={set} errors={errors} />
    </>
  );
}

/** The settings that depend on direction, method and methodology (recipients, your server, processing). */
export function MethodDetails({ s, set, errors }: StepProps) {
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
            </>
          )}
        </fieldset>
      )}
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
        </fieldset>
      )}
    </>
  );
}

/** Host, port, login and password (or Ferry's key) of the customer's own server. */
function ServerLogin({ s, set, errors }: StepProps) {
  return (
    <>
      <TextField
        label={s.method === "email" ? "IMAP host" : "Host"}
        value={s.host}
        onChange={(host) => set({ host })}
        error={errors["details.host"]}
      />
      <TextField
        label="Port"
        value={s.port}
        onChange={(port) => set({ port })}
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

function FtpSecurity({ s, set }: StepProps) {
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

function CredentialsStep(
  props: StepProps & {
    credentials: Credential[];
    created: Credential | null;
    onCreated: (c: Credential) => void;
    onEdited: (c: Credential) => void;
  },
) {
  const { s, set, errors } = props;
  const [editing, setEditing] = useState(false);
  if (!needsCredential(s.method, s.methodology)) {
    return (
      <Notice kind="info">
        {s.method === "email"
          ? "Email connections need no credential: "
          : "When Ferry pulls from your server it logs in with the details of the previous step: "}
        nothing to do here. Choose Next to review.
      </Notice>
    );
  }
  const chosen = props.credentials.find((c) => c.id === s.credentialId);
  return (
    <>
      <p className="muted">
        Your {METHODS[s.method]} client logs in to Ferry with a credential. One credential can serve several
        connections.
      </p>
      <fieldset>
        <legend>Credential</legend>
        <label className="radio">
          <input
            type="radio"
            name="credentialMode"
            checked={s.credentialMode === "existing"}
            onChange={() => set({ credentialMode: "existing" })}
          />
          Use an existing credential
        </label>
        <label className="radio">
          <input
            type="radio"
            name="credentialMode"
            checked={s.credentialMode === "new"}
            onChange={() => set({ credentialMode: "new" })}
          />
          Create a new credential
        </label>
      </fieldset>
      {props.created && props.created.id === s.credentialId && props.created.password && (
        <SecretOnce credential={props.created} />
      )}
      {s.credentialMode === "existing" && (
        <>
          <SelectField
            label="Existing credential"
            value={s.credentialId}
            onChange={(credentialId) => {
              set({ credentialId });
              setEditing(false);
            }}
            options={[
              ["", props.credentials.length ? "Choose…" : "No credentials yet: create one"],
              ...props.credentials.map((c): [string, string] => [
                c.id,
                `${c.name} — ${c.kind === "password" ? "password" : "public key"}, ${c.username}`,
              ]),
            ]}
            error={errors.credentialId}
          />
          {chosen && !editing && (
            <button type="button" className="secondary small" onClick={() => setEditing(true)}>
              Edit credential
            </button>
          )}
          {chosen && editing && (
            <EditCredential
              credential={chosen}
              onDone={(c) => {
                if (c) props.onEdited(c);
                setEditing(false);
              }}
            />
          )}
        </>
      )}
      {s.credentialMode === "new" && (
        <>
          <CredentialForm
            value={s.newCredential}
            onChange={(newCredential) => set({ newCredential })}
            onCreated={props.onCreated}
          />
          {errors.credentialId && (
            <div className="error" role="alert">
              {errors.credentialId}
            </div>
          )}
        </>
      )}
    </>
  );
}

/** Rename a credential, replace its public key, or set how many sessions it may have at once. */
export function EditCredential(props: { credential: Credential; onDone: (c: Credential | null) => void }) {
  const [name, setName] = useState(props.credential.name);
  const [publicKey, setPublicKey] = useState("");
  const [sessions, setSessions] = useState(props.credential.maxSessions?.toString() ?? "");
  const [error, setError] = useState<ApiError | null>(null);
  const save = async () => {
    if (sessions.trim() && !/^\d+$/.test(sessions.trim())) {
      setError(
        new ApiError(400, "VALIDATION_FAILED", "", [
          { path: "maxSessions", message: "must be a whole number from 1 to 256, or empty" },
        ]),
      );
      return;
    }
    try {
      const body = {
        name,
        maxSessions: sessions.trim() ? Number(sessions.trim()) : null,
        ...(publicKey.trim() ? { publicKey } : {}),
      };
      props.onDone(await api<Credential>("PATCH", `/credentials/${props.credential.id}`, body));
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, "ERROR", String(e)));
    }
  };
  return (
    <div className="inline-edit">
      <TextField label="Credential name" value={name} onChange={setName} error={error?.field("name")} />
      {props.credential.kind === "public_key" && (
        <PublicKeyField value={publicKey} onChange={setPublicKey} serverError={error?.field("publicKey")} />
      )}
      <TextField
        label="Sessions at once"
        type="number"
        value={sessions}
        onChange={setSessions}
        error={error?.field("maxSessions")}
        hint="How many SFTP/FTP sessions this login may have open together (parallel tools open one per transfer). Empty: the server's default."
      />
      {error && !error.fields.length && <Notice kind="error">{error.message}</Notice>}
      <div className="row">
        <button type="button" onClick={save}>
          Save credential
        </button>
        <button type="button" className="secondary" onClick={() => props.onDone(null)}>
          Cancel
        </button>
      </div>
    </div>
  );
}

function Review(props: { s: WizardState; credential: Credential | undefined; session: Session }) {
  const { s } = props;
  const d = detailsOf(s);
  const rows: [string, string][] = [
    ["Name", s.name.trim()],
    ["Direction", `${s.direction === "inbound" ? "Inbound" : "Outbound"}: ${DIRECTIONS[s.direction]}`],
    ["Data type", DATA_TYPES[s.dataType]?.label ?? s.dataType],
  ];
  if (s.direction === "outbound") {
    if (s.dataType === "reports") rows.push(["Report", REPORTS[s.report] ?? s.report]);
    rows.push(["Format", `${FORMATS[s.format]}${s.compression === "gzip" ? ", gzip" : ""}`]);
    const sch = s.schedule;
    let schedule = FREQUENCIES[sch.frequency] ?? sch.frequency;
    if (sch.frequency === "weekly") schedule += ` on ${sch.dayOfWeek}`;
    if (sch.frequency === "monthly") schedule += ` on day ${sch.dayOfMonth}`;
    if (["daily", "weekly", "monthly"].includes(sch.frequency)) schedule += ` at ${sch.time}`;
    rows.push(["Schedule", `${schedule} (${props.session.account.timeZone})`]);
  }
  rows.push(["Method", METHODS[s.method]!], ["Methodology", METHODOLOGIES[s.methodology]!]);
  if (s.methodology === "pull_from_third_party") {
    rows.push(
      ["Server", `${d.host}:${d.port}`],
      ["Username", s.username],
      [
        "Log in with",
        s.method === "sftp" && s.authMethod === "key" ? "Ferry's key" : "a password (stored encrypted)",
      ],
      [s.method === "email" ? "Mailbox" : "Folder", s.method === "email" ? s.mailbox : s.folder],
      ["File pattern", s.filePattern],
    );
    if (s.method !== "email") {
      rows.push(
        ["Delete after pull", s.deleteAfterPull ? "Yes" : "No"],
        ["Result folder", s.resultFolder || "none"],
        ["Pull every", `${s.pullEveryMinutes} minutes`],
      );
    }
  }
  if (s.direction === "inbound" && s.method === "email" && s.methodology === "push_to_platform") {
    rows.push(["Attachment pattern", s.filePattern || "*"], ["Return address", s.returnAddress || "none"]);
  }
  if (s.direction === "outbound" && s.method === "email") rows.push(["Recipients", s.recipients]);
  if (s.direction === "outbound" && s.method !== "email") {
    rows.push([
      "Delivered to your server",
      s.deliverToServer
        ? `${s.username}@${d.host}:${d.port}${s.folder} (${s.method === "sftp" && s.authMethod === "key" ? "Ferry's key" : "password"})`
        : "No (download from outbox/)",
    ]);
  }
  if (s.direction === "inbound") {
    rows.push(
      ["All or nothing", s.allOrNothing ? "Yes" : "No"],
      ["Validate only", s.validateOnly ? "Yes" : "No"],
    );
  }
  if (needsCredential(s.method, s.methodology)) {
    const c = props.credential;
    rows.push([
      "Credential",
      c ? `${c.name} (${c.kind === "password" ? "password" : "public key"}, ${c.username})` : "—",
    ]);
  }
  return (
    <>
      <dl className="summary" data-testid="review">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <Notice kind="warning">
        A connection cannot be deleted once created. You can edit it, or disable it; everything it did stays
        visible.
      </Notice>
    </>
  );
}

function Created(props: { connection: Connection; credential: Credential | null }) {
  const c = props.connection;
  const page = `${CONNECTIONS}/${c.id}`;
  let next: string;
  if (c.methodology === "push_to_platform") {
    next =
      c.method === "email"
        ? "Email files as attachments to the address above; each becomes a transfer with its result."
        : `Connect with any ${METHODS[c.method]} client using the credential, and upload files into ${c.folder}/inbox/. Results appear in ${c.folder}/results/ and on the connection's page.`;
  } else if (c.methodology === "pull_from_platform") {
    next =
      c.method === "email"
        ? "Files are emailed to the recipients on schedule. Use Run now on the connection's page to get one at once."
        : `Files are generated on schedule into ${c.folder}/outbox/: download them with your ${METHODS[c.method]} client. Use Run now on the connection's page to get one at once.`;
  } else {
    next =
      "Ferry pulls matching files from your server on schedule; watch the connection's page for each pull.";
  }
  return (
    <section className="card created" aria-labelledby="wizard-step-title">
      <h1 id="wizard-step-title" tabIndex={-1}>
        Connection “{c.name}” created
      </h1>
      {c.address && <Copyable label="Address" value={c.address} />}
      {props.credential?.password && <SecretOnce credential={props.credential} />}
      <h2>What to do next</h2>
      <p>{next}</p>
      <p className="row">
        <Link className="button" href={page}>
          Open the connection's page
        </Link>
        <Link className="button secondary" href={CONNECTIONS}>
          Back to connections
        </Link>
        <Link className="button secondary" href={CREDENTIALS}>
          Credentials
        </Link>
      </p>
    </section>
  );
}
