/**
 * Which connections make sense, as data: the data types and methodologies of each direction, when a credential
 * is needed, and the shape of `details` for each direction × method × methodology. Validation, the OpenAPI
 * document and the web UI's choices all read these tables.
 */
import { z } from "zod";
import type { FieldError } from "./errors.js";
import { DEFAULT_FILE_NAME_TEMPLATE } from "./file-names.js";

export const DIRECTIONS = ["inbound", "outbound"] as const;
export const DATA_TYPES = [
  "conversions",
  "action_modifications",
  "clicks",
  "product_catalog",
  "reports",
  "performance_bonus_detail",
] as const;
export const METHODS = ["sftp", "ftp", "email"] as const;
export const METHODOLOGIES = ["push_to_platform", "pull_from_third_party", "pull_from_platform"] as const;

export type Direction = (typeof DIRECTIONS)[number];
export type DataType = (typeof DATA_TYPES)[number];
export type Method = (typeof METHODS)[number];
export type Methodology = (typeof METHODOLOGIES)[number];

/** What each direction allows. */
export const DIRECTION_RULES: Record<Direction, { dataTypes: DataType[]; methodologies: Methodology[] }> = {
  inbound: {
    dataTypes: ["conversions", "action_modifications", "clicks", "product_catalog"],
    methodologies: ["push_to_platform", "pull_from_third_party"],
  },
  outbound: { dataTypes: ["reports", "performance_bonus_detail"], methodologies: ["pull_from_platform"] },
};

/** Reports an outbound `reports` connection can produce. */
export const REPORTS = ["performance_by_partner", "action_listing", "action_updates"] as const;

export const SCHEDULE_FREQUENCIES = [
  "hourly",
  "every_2_hours",
  "every_4_hours",
  "every_8_hours",
  "twice_daily",
  "daily",
  "weekly",
  "monthly",
] as const;

/**
 * A credential is the login to Ferry's own SFTP/FTP server, so it is needed exactly when a client connects to
 * Ferry over SFTP or FTP: push to the platform, or pull from it. Email and pull from a third party do not use one.
 */
export function needsCredential(method: Method, methodology: Methodology): boolean {
  return method !== "email" && methodology !== "pull_from_third_party";
}

// --- field shapes -------------------------------------------------------------------------------------------

const hostName =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
// zod's own IP formats (not node:net): these rules also run in the browser, in the wizard.
const ipAddress = z.union([z.ipv4(), z.ipv6()]);
const host = z
  .string()
  .refine((v) => hostName.test(v) || ipAddress.safeParse(v).success, "must be a host name or an IP address");
/** A whole number from `min` to `max`, saying so in words when it is not (the wizard shows the same). */
const wholeNumber = (min: number, max: number, unit = "") => {
  const message = `must be a whole number from ${min} to ${max}${unit}`;
  return z.number(message).int(message).min(min, message).max(max, message);
};
const port = wholeNumber(1, 65535);
const email = z.email("must be an email address");
/** File pattern: an exact name or a glob with `*` and `?`; never a path. */
const filePattern = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^[^/\\:<>|"\p{Cc}]+$/u,
    'must be a file name or a glob with * and ?, without / \\ : < > | " or control characters',
  );
/** An absolute folder on a remote server. */
const folder = z
  .string()
  .max(1024)
  .regex(/^\/[^\0]*$/, "must be an absolute path starting with /")
  .refine((v) => !v.split("/").includes(".."), "must not contain ..");
const username = z.string().min(1).max(200);
/** A secret given once and kept encrypted; reads show only `passwordSet`. */
const secret = z.string().min(1).max(1024);
const fingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "must be an OpenSSH SHA256 fingerprint");

const PLACEHOLDER = /\{([a-z_]+)(?::[A-Za-z]+)?\}/g;
const PLACEHOLDERS = ["connection", "report", "period_start", "period_end", "run_id", "ext"];
const fileNameTemplate = z
  .string()
  .min(1)
  .max(200)
  .refine(
    // Control characters too: a CR or LF in a name breaks FTP replies and listings (and log lines).
    (v) => /^[^/\\:<>|"?*\p{Cc}]+$/u.test(v.replace(PLACEHOLDER, "x")),
    'must be a file name, without / \\ : < > | " ? * or control characters (CR, LF, tab…)',
  )
  .refine(
    (v) => [...v.matchAll(PLACEHOLDER)].every((m) => PLACEHOLDERS.includes(m[1]!)),
    `may use only the placeholders ${PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
  );

const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] as const;

/**
 * A file expected on these weekdays by this local time (account time zone): received that day by then, or a
 * file.missing event (pipeline/deadlines.ts).
 */
const expectFiles = z.strictObject({
  days: z.array(z.enum(WEEKDAYS)).min(1).max(7),
  by: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM, 24-hour"),
});

const schedule = z
  .strictObject({
    frequency: z.enum(SCHEDULE_FREQUENCIES),
    /** Local time HH:MM in the account's time zone, for daily, weekly and monthly. */
    time: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, "must be HH:MM, 24-hour")
      .optional(),
    dayOfWeek: z
      .enum(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
      .optional(),
    /** 1..28, so that every month has the day. */
    dayOfMonth: wholeNumber(1, 28).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.frequency === "weekly" && !s.dayOfWeek) {
      ctx.addIssue({ code: "custom", path: ["dayOfWeek"], message: "is required for a weekly schedule" });
    }
    if (s.frequency === "monthly" && !s.dayOfMonth) {
      ctx.addIssue({ code: "custom", path: ["dayOfMonth"], message: "is required for a monthly schedule" });
    }
    if (s.frequency !== "weekly" && s.dayOfWeek) {
      ctx.addIssue({ code: "custom", path: ["dayOfWeek"], message: "is only for a weekly schedule" });
    }
    if (s.frequency !== "monthly" && s.dayOfMonth) {
      ctx.addIssue({ code: "custom", path: ["dayOfMonth"], message: "is only for a monthly schedule" });
    }
  });

// --- details by direction × method × methodology ------------------------------------------------------------

/** Character encodings of received files; "auto": a byte-order mark, else UTF-8 if valid, else detected. */
export const FILE_ENCODINGS = ["auto", "utf-8", "utf-16", "windows-1252", "iso-8859-1", "shift_jis"] as const;
export type FileEncoding = (typeof FILE_ENCODINGS)[number];
/** Field delimiters of received files; "auto": the one under which the header's columns are recognised. */
export const FILE_DELIMITERS = ["auto", "comma", "tab", "pipe", "semicolon"] as const;
export type FileDelimiter = (typeof FILE_DELIMITERS)[number];

const inbound = {
  /** Reject the whole file when any row fails, instead of applying the good rows. (Default: false) */
  allOrNothing: z.boolean().default(false),
  /** Check files completely but apply nothing: for testing a feed. (Default: false) */
  validateOnly: z.boolean().default(false),
  /**
   * The errors file (refused rows) as gzip (`<name>_errors.csv.gz`) or a zip archive holding it
   * (`<name>_errors.csv.zip`): for feeds whose files are large. (Default: none)
   */
  errorsCompression: z.enum(["none", "gzip", "zip"]).default("none"),
  /** The files' character encoding (pipeline/encoding.ts). (Default: auto) */
  encoding: z.enum(FILE_ENCODINGS).default("auto"),
  /** The files' field delimiter (pipeline/source.ts). (Default: auto) */
  delimiter: z.enum(FILE_DELIMITERS).default("auto"),
  /** A file is expected on these days by this time; otherwise a file.missing event. (Default: none) */
  expectFiles: expectFiles.optional(),
  /**
   * OpenPGP: files encrypted to the account's keys are always decrypted; "required" refuses a file that is
   * not encrypted. (Default: accepted)
   */
  pgpEncryption: z.enum(["accepted", "required"]).default("accepted"),
  /** The id of a partner's PGP key: every file must be signed with it. (Default: none) */
  pgpSignedBy: z.uuid().optional(),
};

const pushFiles = z.strictObject({ ...inbound });

const pushEmail = z.strictObject({
  ...inbound,
  /** Which attachments are taken. (Default: *) */
  filePattern: filePattern.default("*"),
  /** Where receipts and result files are sent. */
  returnAddress: email.optional(),
  /** Only mail from these senders is accepted; empty: any sender. */
  allowedSenders: z.array(email).max(100).optional(),
});

const pullCommon = {
  ...inbound,
  host,
  username,
  password: secret.optional(),
  folder,
  filePattern,
  /** Remove remote files once they are safely received. (Default: false, as recommended) */
  deleteAfterPull: z.boolean().default(false),
  /** Where receipt and result files are uploaded on the remote server; none when unset. */
  resultFolder: folder.optional(),
  /** Minutes between pulls. (Default: 15) */
  pullEveryMinutes: wholeNumber(5, 1440, " minutes").default(15),
};

const pullSftp = z.strictObject({
  ...pullCommon,
  port: port.default(22),
  /** Password, or the account's key pair generated by Ferry. (Default: password) */
  authMethod: z.enum(["password", "key"]).default("password"),
  /** The server's host key fingerprint; recorded at the first connection when unset. */
  hostKeyFingerprint: fingerprint.optional(),
});

const pullFtp = z.strictObject({
  ...pullCommon,
  port: port.default(21),
  /** FTPS explicit (AUTH TLS), implicit, or plain FTP only when chosen. (Default: explicit) */
  security: z.enum(["explicit", "implicit", "none"]).default("explicit"),
  /** The server's TLS certificate fingerprint (self-signed servers); recorded at the first connection when unset. */
  hostKeyFingerprint: fingerprint.optional(),
});

const pullEmail = z.strictObject({
  ...inbound,
  host,
  port: port.default(993),
  /** IMAP over TLS. (Default: true) */
  tls: z.boolean().default(true),
  username,
  password: secret.optional(),
  /** Mailbox folder. (Default: INBOX) */
  mailbox: z.string().min(1).max(200).default("INBOX"),
  filePattern,
  /** The server's TLS certificate fingerprint; recorded at the first connection when unset. */
  hostKeyFingerprint: fingerprint.optional(),
});

const outboundCommon = {
  schedule: schedule.default({ frequency: "daily", time: "02:00" }),
  /** (Default: csv) */
  format: z.enum(["csv", "tsv", "pipe", "jsonl"]).default("csv"),
  /** gzip (.gz), or a zip archive holding the one file (.zip). (Default: none) */
  compression: z.enum(["none", "gzip", "zip"]).default("none"),
  /** (Default: {connection}_{period_start:yyyyMMdd}.{ext}) */
  fileNameTemplate: fileNameTemplate.default(DEFAULT_FILE_NAME_TEMPLATE),
  /** Only these campaigns; empty or unset: all. */
  campaignIds: z.array(z.number().int().positive()).max(100).optional(),
  /** Only these partners; empty or unset: all. */
  partnerIds: z.array(z.number().int().positive()).max(1000).optional(),
  /** The id of a partner's PGP key: each file is encrypted to it and named ….pgp. (Default: none) */
  pgpEncryptTo: z.uuid().optional(),
  /** Sign encrypted files with the account's newest PGP key. (Default: false) */
  pgpSign: z.boolean().default(false),
};

const outboundFiles = z.strictObject({
  ...outboundCommon,
  /** Also upload each generated file to your own SFTP or FTP server (below). (Default: false) */
  deliverToServer: z.boolean().default(false),
  host: host.optional(),
  port: port.optional(),
  username: username.optional(),
  password: secret.optional(),
  /** Password, or the account's key pair generated by Ferry. (Default: password) */
  authMethod: z.enum(["password", "key"]).optional(),
  /** The server's host key (SFTP) or certificate (FTPS) fingerprint; recorded at the first delivery when unset. */
  hostKeyFingerprint: fingerprint.optional(),
  /** The folder the files are uploaded to. */
  folder: folder.optional(),
  /** FTP only: FTPS explicit (AUTH TLS), implicit, or plain FTP only when chosen. (Default: explicit) */
  security: z.enum(["explicit", "implicit", "none"]).optional(),
});
const outboundEmail = z.strictObject({ ...outboundCommon, recipients: z.array(email).min(1).max(50) });

/** The details schema of a combination, before the data-type-specific fields. */
export function detailsSchema(method: Method, methodology: Methodology): z.ZodObject {
  switch (methodology) {
    case "push_to_platform":
      return method === "email" ? pushEmail : pushFiles;
    case "pull_from_third_party":
      return method === "sftp" ? pullSftp : method === "ftp" ? pullFtp : pullEmail;
    case "pull_from_platform":
      return method === "email" ? outboundEmail : outboundFiles;
  }
}

/** Fields of details that hold secrets: stored encrypted, never returned. */
export const SECRET_DETAILS = ["password"] as const;

/**
 * Checks a connection's combination and details. Returns the details with defaults filled in, or every field
 * error found (paths like `dataType`, `details.port`).
 */
export function validateConnection(c: {
  direction: Direction;
  dataType: DataType;
  method: Method;
  methodology: Methodology;
  credentialId?: string | null | undefined;
  details: Record<string, unknown>;
  /** True when the connection already holds a password, so `details.password` may be omitted. */
  hasStoredPassword?: boolean;
}): { ok: true; details: Record<string, unknown> } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const rule = DIRECTION_RULES[c.direction];
  if (!rule.dataTypes.includes(c.dataType)) {
    errors.push({
      path: "dataType",
      message: `"${c.dataType}" is not a data type of ${c.direction} connections; allowed: ${rule.dataTypes.join(", ")}`,
    });
  }
  if (!rule.methodologies.includes(c.methodology)) {
    errors.push({
      path: "methodology",
      message: `"${c.methodology}" is not a methodology of ${c.direction} connections; allowed: ${rule.methodologies.join(", ")}`,
    });
  }
  if (errors.length > 0) return { ok: false, errors };

  if (needsCredential(c.method, c.methodology)) {
    if (!c.credentialId) {
      errors.push({
        path: "credentialId",
        message: `is required: clients log in to Ferry's ${c.method.toUpperCase()} server with it`,
      });
    }
  } else if (c.credentialId) {
    errors.push({
      path: "credentialId",
      message:
        c.methodology === "pull_from_third_party"
          ? "is not used when Ferry pulls from a third party; give the remote login in details"
          : "is not used by email connections; leave it out",
    });
  }

  let shape = detailsSchema(c.method, c.methodology);
  if (c.dataType === "reports") shape = shape.extend({ report: z.enum(REPORTS) });
  const parsed = shape.safeParse(c.details);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === "unrecognized_keys") {
        for (const key of issue.keys) {
          errors.push({
            path: ["details", ...issue.path, key].join("."),
            message: `is not a setting of ${c.direction} ${c.method} connections (${c.methodology}); allowed: ${Object.keys(shape.shape).join(", ")}`,
          });
        }
      } else {
        errors.push({ path: ["details", ...issue.path].join("."), message: issue.message });
      }
    }
  } else {
    const d = parsed.data as Record<string, unknown>;
    const pushes = c.methodology === "pull_from_platform" && d.deliverToServer === true;
    const wantsPassword =
      (c.methodology === "pull_from_third_party" && (c.method !== "sftp" || d.authMethod === "password")) ||
      (pushes && d.authMethod !== "key");
    if (wantsPassword && d.password === undefined && !c.hasStoredPassword) {
      errors.push({ path: "details.password", message: "is required to log in to the remote server" });
    }
    if (d.pgpSign === true && d.pgpEncryptTo === undefined) {
      errors.push({ path: "details.pgpSign", message: "signs encrypted files: set pgpEncryptTo too" });
    }
    if (pushes) {
      for (const key of ["host", "username", "folder"]) {
        if (d[key] === undefined)
          errors.push({ path: `details.${key}`, message: "is required to deliver files to your server" });
      }
    }
  }
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, details: parsed.data as Record<string, unknown> };
}

/**
 * A server login to test before it is saved: the fields of a pull's or delivery's details (the password in
 * clear, never stored), or `connectionId` for a saved connection's, the fields given overriding its own.
 */
export const connectionTestSchema = z.strictObject({
  connectionId: z.uuid().optional(),
  method: z.enum(METHODS).optional(),
  host: host.optional(),
  port: port.optional(),
  username: username.optional(),
  password: secret.optional(),
  authMethod: z.enum(["password", "key"]).optional(),
  security: z.enum(["explicit", "implicit", "none"]).optional(),
  tls: z.boolean().optional(),
  folder: folder.optional(),
  mailbox: z.string().min(1).max(200).optional(),
  hostKeyFingerprint: fingerprint.optional(),
});
export type ConnectionTest = z.infer<typeof connectionTestSchema>;
