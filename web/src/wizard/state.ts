/**
 * The Connector wizard's state: its choices, the connection's details for the API made from them, the check of
 * each step (the connection rules themselves, as the API runs them on Create), and an existing connection's
 * state for its Edit form.
 */
import { type DataType, validateConnection } from "../../../src/domain/connection-rules";
import type { Connection, Direction } from "../api";
import { needsCredential } from "../labels";
import type { NewCredential } from "../pages/CredentialForm";

export const STEPS = ["Direction", "Type", "Method", "Credentials", "Review"] as const;

export interface Schedule {
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
  errorsCompression: string;
  encoding: string;
  delimiter: string;
  /** A file expected on `expectDays` by `expectBy` (account time zone). */
  expectFiles: boolean;
  expectDays: string[];
  expectBy: string;
  /** OpenPGP, inbound: "accepted" or "required"; the partner key files must be signed with ("" none). */
  pgpEncryption: "accepted" | "required";
  pgpSignedBy: string;
  /** OpenPGP, outbound: the partner key files are encrypted to ("" none), and whether Ferry signs them. */
  pgpEncryptTo: string;
  pgpSign: boolean;
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
  /** The server's host key or certificate the user accepted after a test; pinned when saved. */
  hostKeyFingerprint: string;
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
  errorsCompression: "none",
  encoding: "auto",
  delimiter: "auto",
  expectFiles: false,
  expectDays: ["monday", "tuesday", "wednesday", "thursday", "friday"],
  expectBy: "09:00",
  pgpEncryption: "accepted",
  pgpSignedBy: "",
  pgpEncryptTo: "",
  pgpSign: false,
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
  hostKeyFingerprint: "",
  credentialMode: "existing",
  credentialId: "",
  newCredential: { name: "", kind: "public_key", publicKey: "" },
};

export type Errors = Record<string, string>;

export const DEFAULT_PORTS: Record<string, string> = { sftp: "22", ftp: "21", email: "993" };

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
      ...(s.pgpEncryptTo ? { pgpEncryptTo: s.pgpEncryptTo, pgpSign: s.pgpSign } : {}),
      ...(s.method !== "email" && s.deliverToServer
        ? {
            host: s.host.trim(),
            port: Number(s.port || DEFAULT_PORTS[s.method]),
            username: s.username,
            ...(s.password ? { password: s.password } : {}),
            ...(s.method === "sftp" ? { authMethod: s.authMethod } : { security: s.security }),
            folder: s.folder,
            ...(s.hostKeyFingerprint ? { hostKeyFingerprint: s.hostKeyFingerprint } : {}),
          }
        : {}),
    };
  }
  const inbound = {
    allOrNothing: s.allOrNothing,
    validateOnly: s.validateOnly,
    errorsCompression: s.errorsCompression,
    encoding: s.encoding,
    delimiter: s.delimiter,
    ...(s.expectFiles ? { expectFiles: { days: s.expectDays, by: s.expectBy } } : {}),
    pgpEncryption: s.pgpEncryption,
    ...(s.pgpSignedBy ? { pgpSignedBy: s.pgpSignedBy } : {}),
  };
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
    ...(s.hostKeyFingerprint ? { hostKeyFingerprint: s.hostKeyFingerprint } : {}),
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

export function splitList(v: string): string[] {
  return v
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);
}

/**
 * The connection rules' verdict (src/domain/connection-rules.ts: the API runs the very same on Create) on the
 * details of one step: formats and ranges (times, days, ports, folders, intervals, addresses…).
 */
export function ruleErrors(step: number, s: WizardState): Errors {
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
    errorsCompression: str(d.errorsCompression, INITIAL.errorsCompression),
    encoding: str(d.encoding, INITIAL.encoding),
    delimiter: str(d.delimiter, INITIAL.delimiter),
    expectFiles: Boolean(d.expectFiles),
    expectDays: (d.expectFiles as { days?: string[] } | undefined)?.days ?? INITIAL.expectDays,
    expectBy: (d.expectFiles as { by?: string } | undefined)?.by ?? INITIAL.expectBy,
    pgpEncryption: d.pgpEncryption === "required" ? "required" : "accepted",
    pgpSignedBy: str(d.pgpSignedBy),
    pgpEncryptTo: str(d.pgpEncryptTo),
    pgpSign: d.pgpSign === true,
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
    hostKeyFingerprint: str(d.hostKeyFingerprint),
    mailbox: str(d.mailbox, "INBOX"),
  };
}

/**
 * Whether the browser checks a field (so an error on it clears once fixed): the wizard's own fields, and every
 * setting in details (the connection rules check them all). Others come from the API and stay until the next
 * Create.
 */
export const checkedHere = (path: string) =>
  ["name", "direction", "dataType", "credentialId"].includes(path) || path.startsWith("details.");

/** Which step a field of the API's answer belongs to. */
export function stepOf(path: string): number {
  if (path === "name" || path === "direction") return 0;
  if (path === "dataType" || /^details\.(report|format|compression|schedule|fileNameTemplate)/.test(path))
    return 1;
  if (path === "credentialId") return 3;
  return 2;
}

/** What every step's component gets: the state, a way to change it, and the errors to show. */
export interface StepProps {
  s: WizardState;
  set: (patch: Partial<WizardState>) => void;
  errors: Errors;
  /** The account's time zone, which schedules keep. */
  timeZone?: string;
  /** Editing a saved connection: a login test may use its stored password. */
  connectionId?: string;
}
