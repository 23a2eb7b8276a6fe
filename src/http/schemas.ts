/** The API's request and response shapes (zod): they validate input, filter output and make the OpenAPI document. */
import { z } from "zod";
import { DATA_TYPES, DIRECTIONS, METHODOLOGIES, METHODS } from "../domain/connection-rules.js";
import { PGP_ALGORITHMS } from "../domain/pgp-algorithms.js";
import { WEBHOOK_EVENTS } from "../domain/webhook-events.js";

/** A UUID as PostgreSQL reads it (any version): anything else is a 400 naming the field, not a database error. */
export const Id = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "must be a UUID")
  .describe("UUID");
export const IdParams = z.object({ id: Id });

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
      requestId: z.string().optional(),
    }),
  })
  .describe("Every error has this shape");

export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(200).optional().describe("Rows per page (1..200, default 50)"),
  cursor: z.string().optional().describe("nextCursor of the previous page"),
};

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/**
 * An IANA time zone name the runtime can resolve, current names and old aliases alike (Asia/Kolkata and
 * Asia/Calcutta, Europe/Kyiv and Europe/Kiev): Intl.supportedValuesOf lists only one spelling of each.
 * Names only: offsets such as "+05:30" mean different things to JavaScript and PostgreSQL.
 */
function isTimeZone(tz: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(tz)) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const AccountBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  type: z.enum(["brand", "partner"]),
  timeZone: z.string().refine(isTimeZone, "must be an IANA time zone, e.g. Europe/Paris").optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as USD")
    .optional(),
});

/** Days a kind of file is kept (1 to 100 years); null: the setting one level up. */
const RetentionDays = z.number().int().min(1).max(36500).nullable().optional();

export const Account = z.object({
  id: Id,
  name: z.string(),
  type: z.enum(["brand", "partner"]),
  timeZone: z.string(),
  currency: z.string(),
  createdAt: z.date(),
  storageQuotaBytes: z
    .number()
    .nullable()
    .meta({ description: "The most bytes the account's received files may take; null: no quota" }),
  storageUsedBytes: z.number().meta({ description: "Bytes the account's received files take now" }),
  retention: z
    .object({
      inboundDays: z.number().nullable(),
      resultDays: z.number().nullable(),
      outboundDays: z.number().nullable(),
    })
    .describe(
      "Days each kind of file is kept (received files, result files, generated files); null: the server's default (FERRY_INBOUND_RETENTION_DAYS, FERRY_RESULT_RETENTION_DAYS, FERRY_RETENTION_DAYS). A connection may set its own.",
    ),
  retentionDefaults: z
    .object({ inboundDays: z.number(), resultDays: z.number(), outboundDays: z.number() })
    .describe("The server's defaults, for the settings left null"),
});

export const AccountPatch = z.strictObject({
  name: AccountBody.shape.name.optional(),
  timeZone: AccountBody.shape.timeZone.describe(
    "Schedules follow it from their next period on: the period after the change runs from the last one's end to the next boundary in the new zone",
  ),
  currency: AccountBody.shape.currency.describe("Default currency of files that give none"),
  storageQuotaBytes: z
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .nullable()
    .optional()
    .meta({ description: "Storage quota in bytes; null removes it (administrator only)" }),
  retention: z
    .strictObject({
      inboundDays: RetentionDays,
      resultDays: RetentionDays,
      outboundDays: RetentionDays,
    })
    .optional()
    .describe("Days each kind of file is kept; null: the server's default. The account's admins may set it."),
});

/** A role inside an account. */
export const AccountRole = z
  .enum(["admin", "member"])
  .describe("In the account: admins manage its users, API tokens and settings; members do everything else");

export const TokenBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  accountRole: AccountRole.optional().describe(
    "The token's rights in the account (default: its maker's; never more)",
  ),
  expiresInDays: z
    .number()
    .int()
    .min(1)
    .max(365)
    .nullable()
    .optional()
    .describe("Days the token works (default 90); null: never expires (platform administrator only)"),
});

export const ApiToken = z.object({
  id: Id,
  accountId: Id,
  name: z.string(),
  prefix: z.string().describe("The token's first characters, to recognise it"),
  accountRole: AccountRole,
  userId: Id.nullable().describe("The user who made it (revoked when they are disabled)"),
  createdAt: z.date(),
  lastUsedAt: z.date().nullable(),
  expiresAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});

export const CreatedToken = ApiToken.extend({
  token: z.string().describe("Shown once: store it now"),
});

export const TokenParams = z.object({ id: Id, tokenId: Id });
export const UserParams = z.object({ id: Id, userId: Id });

export const PasswordChangeBody = z.strictObject({
  currentPassword: z.string().min(1).max(1000),
  newPassword: z.string().min(1).max(1000),
});

export const CredentialKind = z.enum(["password", "public_key"]);

/** A credential's own cap on concurrent sessions (domain/credentials.ts: MAX_SESSIONS_CEILING). */
const MaxSessions = z
  .number()
  .int()
  .min(1)
  .max(256)
  .nullable()
  .optional()
  .describe(
    "Concurrent SFTP/FTP sessions this login may have (parallel clients open one per transfer); null: the server's default",
  );

export const CredentialBody = z.strictObject({
  name: z.string().max(200).describe("Describe its use case, e.g. 'Orders export from ERP'"),
  kind: CredentialKind,
  publicKey: z
    .string()
    .max(16_384)
    .optional()
    .describe(
      "For kind public_key: OpenSSH (ssh-ed25519, ecdsa-sha2-*, ssh-rsa ≥ 2048 bits), RFC 4716 or PEM",
    ),
  maxSessions: MaxSessions,
});

export const CredentialPatch = z.strictObject({
  name: z.string().max(200).optional(),
  publicKey: z.string().max(16_384).optional().describe("Replaces the key (kind public_key only)"),
  maxSessions: MaxSessions,
});

export const Credential = z.object({
  id: Id,
  name: z.string(),
  kind: CredentialKind,
  username: z.string(),
  publicKey: z.string().nullable(),
  keyType: z.string().nullable(),
  keyBits: z.number().nullable(),
  fingerprint: z.string().nullable(),
  usedBy: z.array(z.object({ id: Id, name: z.string() })),
  createdAt: z.date(),
  updatedAt: z.date(),
  lastUsedAt: z.date().nullable(),
  maxSessions: z
    .number()
    .nullable()
    .describe(
      "Concurrent SFTP/FTP sessions this login may have; null: the server's default (FERRY_MAX_SESSIONS_PER_CREDENTIAL)",
    ),
});

export const CredentialWithSecret = Credential.extend({
  password: z.string().optional().describe("Generated password: shown in this response only"),
});

const Details = z.record(z.string(), z.unknown());

export const ConnectionBody = z.strictObject({
  name: z.string().max(100),
  direction: z.enum(DIRECTIONS),
  dataType: z.enum(DATA_TYPES),
  method: z.enum(METHODS),
  methodology: z.enum(METHODOLOGIES),
  credentialId: Id.nullable().optional(),
  details: Details.optional().describe("Settings that depend on direction, method and methodology"),
});

export const ConnectionPatch = z.strictObject({
  name: z.string().max(100).optional(),
  credentialId: Id.nullable().optional(),
  details: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Merged into the current details key by key; null removes a setting"),
  retentionDays: RetentionDays.describe(
    "Days its files (received or generated) are kept, then their bytes go and the record stays; null: the account's setting",
  ),
  resultRetentionDays: RetentionDays.describe(
    "Inbound: days its result files are kept; null: the account's setting",
  ),
  direction: z.string().optional().describe("Cannot be changed (answered 400)"),
  dataType: z.string().optional().describe("Cannot be changed (answered 400)"),
  method: z.string().optional().describe("Cannot be changed (answered 400)"),
  methodology: z.string().optional().describe("Cannot be changed (answered 400)"),
});

export const Connection = z.object({
  id: Id,
  name: z.string(),
  direction: z.enum(DIRECTIONS),
  dataType: z.enum(DATA_TYPES),
  method: z.enum(METHODS),
  methodology: z.enum(METHODOLOGIES),
  credentialId: Id.nullable(),
  folder: z.string().describe("Its folder in the SFTP/FTP view of its credential"),
  address: z.string().nullable().describe("Where a client connects, e.g. sftp://user@host:2222/folder/"),
  login: z
    .object({
      host: z.string(),
      port: z.number(),
      username: z.string(),
      path: z
        .string()
        .describe("The folder to upload to (/<folder>/inbox/) or download from (/<folder>/outbox/)"),
    })
    .nullable()
    .describe("What a partner's SFTP/FTP client needs, apart; null where Ferry is the client or for email"),
  exampleFileName: z
    .string()
    .nullable()
    .describe("Outbound: the name its template gives yesterday's file (an example; null for inbound)"),
  status: z.enum(["active", "disabled"]),
  details: Details,
  createdAt: z.date(),
  updatedAt: z.date(),
  statusChangedAt: z.date(),
  activity: z
    .object({
      status: z.enum(["none", "in_progress", "completed", "partial", "failed"]),
      lastActiveAt: z.date().nullable(),
      problem: z
        .object({
          source: z.enum(["file", "run", "pull"]),
          status: z.string().describe("The file's status, or the run's or pull's (failed)"),
          fileName: z.string().nullable(),
          error: z.string().nullable().describe("The reason, in words"),
        })
        .nullable()
        .describe("What a Partial or Failed status is about"),
    })
    .describe(
      "From the latest transfer or run: None / In Progress / Completed / Partial (some rows refused) / Failed (rows all refused, file unreadable, delivery, run or pull failed)",
    ),
  retention: z
    .object({
      days: z.number().nullable(),
      resultDays: z.number().nullable(),
      effectiveDays: z.number(),
      effectiveResultDays: z.number().nullable(),
    })
    .describe(
      "Days its files and result files are kept: its own settings (null: the account's), and the days that apply (its own, else the account's, else the server's)",
    ),
  storage: z
    .object({ files: z.number(), bytes: z.number(), resultFiles: z.number(), resultBytes: z.number() })
    .describe("What it keeps in the store now (files whose retention ended are not counted)"),
});

export const ConnectionQuery = z.object({
  ...PageQuery,
  direction: z.enum(DIRECTIONS).optional(),
  dataType: z.enum(DATA_TYPES).optional(),
  method: z.enum(METHODS).optional(),
  methodology: z.enum(METHODOLOGIES).optional(),
  status: z.enum(["active", "disabled"]).optional(),
  credentialId: Id.optional(),
});

export const AuditQuery = z.object({
  ...PageQuery,
  order: z.enum(["asc", "desc"]).optional().describe("asc (default): oldest first; desc: newest first"),
});

export const AccountAuditQuery = z.object({
  ...AuditQuery.shape,
  since: z.coerce.date().optional().describe("At or after (ISO 8601)"),
  until: z.coerce.date().optional().describe("Before (ISO 8601)"),
  action: z
    .string()
    .max(100)
    .optional()
    .describe("An action (credential.password_reset), or a kind of them ending in a dot (credential.)"),
  actorType: z.enum(["user", "token", "credential", "system"]).optional().describe("Who acted"),
  actorId: Id.optional(),
  objectType: z.string().max(50).optional().describe("What it was about: connection, credential, transfer…"),
  objectId: Id.optional(),
});

export const AuditEvent = z.object({
  id: Id,
  action: z.string(),
  actorType: z.string(),
  actorId: Id.nullable(),
  objectType: z.string(),
  objectId: Id.nullable(),
  details: Details,
  ip: z.string().nullable(),
  at: z.date(),
});

export const TRANSFER_STATUSES = [
  "received",
  "processing",
  "processed",
  "partial",
  "rejected",
  "validated",
  "failed",
  "duplicate",
  "generated",
  "delivered",
  "delivery_failed",
  "downloaded",
] as const;

export const RESULT_KINDS = ["receipt", "summary", "errors"] as const;

export const ResultFile = z.object({
  kind: z.enum(RESULT_KINDS),
  fileName: z.string(),
  size: z.number(),
  createdAt: z.date(),
  contentAvailable: z.boolean().describe("Whether its bytes are still kept (retention removes them)"),
});

export const Transfer = z.object({
  id: Id,
  connectionId: Id,
  direction: z.enum(DIRECTIONS),
  fileName: z.string(),
  size: z.number(),
  sha256: z.string(),
  status: z.enum(TRANSFER_STATUSES).meta({
    description:
      "Inbound: received → processing → processed (every row taken), partial (some rows taken, some refused: see the errors file), rejected (every row refused), validated (checked only, nothing applied), failed (the file could not be read, or an all-or-nothing connection refused a row: nothing applied), or duplicate. Outbound: generated → delivered / downloaded, or delivery_failed (email or your server could not be reached: see error; retried). The summary file says the same.",
  }),
  protocol: z.string(),
  credentialId: Id.nullable(),
  username: z.string().nullable(),
  remoteIp: z.string().nullable(),
  duplicateOf: Id.nullable(),
  reprocessOf: Id.nullable().meta({
    description: "The transfer whose file this one processes again (reprocessed, or a duplicate accepted)",
  }),
  error: z.string().nullable(),
  contentAvailable: z.boolean(),
  rows: z
    .object({ total: z.number(), ok: z.number(), error: z.number(), duplicate: z.number() })
    .nullable()
    .meta({ description: "Row counts once processed: all data rows, taken, refused, duplicates" }),
  validateOnly: z.boolean(),
  attempts: z.number(),
  processedAt: z.date().nullable(),
  downloadCount: z.number(),
  firstDownloadedAt: z.date().nullable(),
  lastDownloadedAt: z.date().nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
  results: z.array(ResultFile).describe("Its result files (receipt, summary, errors)"),
});

/** One pull from a third party's server (the connection's health). */
export const Pull = z.object({
  id: z.string(),
  trigger: z.enum(["schedule", "manual"]),
  status: z.enum(["pending", "running", "succeeded", "failed"]),
  filesFound: z.number().nullable().describe("Files in the folder matching the pattern"),
  filesTaken: z.number().nullable().describe("Files received (each a transfer)"),
  filesWaiting: z.number().nullable().describe("Files still growing, left for the next pull"),
  errorCode: z.string().nullable(),
  error: z.string().nullable().describe("What went wrong, in words"),
  hostKey: z.string().nullable().describe("The server's host key fingerprint as this pull saw it"),
  createdAt: z.date(),
  startedAt: z.date().nullable(),
  finishedAt: z.date().nullable(),
});

export const RowErrorsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional().describe("Rows per page (1..1000, default 200)"),
  cursor: z
    .string()
    .regex(/^\d{1,12}$/, "must be the nextCursor of the previous page")
    .optional()
    .describe("nextCursor of the previous page"),
});

export const RowErrorPage = z
  .object({
    header: z.array(z.string()).describe("The original file's header"),
    items: z.array(
      z.object({
        line: z.number().describe("The row's line in the original file"),
        errorType: z.string(),
        message: z.string(),
        fields: z
          .array(z.string())
          .describe(
            "The row's fields as in the file (a value a spreadsheet would run as a formula begins with ')",
          ),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .describe("Refused rows, read from the errors file, in line order");

/** "true" or "false" in a query string. */
const QueryFlag = z.enum(["true", "false"]).transform((v) => v === "true");

export const TransferQuery = z.object({
  ...PageQuery,
  status: z.enum(TRANSFER_STATUSES).optional(),
  failed: QueryFlag.optional().describe(
    "true: only files with failures (partial, rejected, failed, delivery_failed)",
  ),
  withTotal: QueryFlag.optional().describe("true: also count every transfer the filters match (total)"),
  since: z.coerce.date().optional().describe("Created at or after (ISO 8601)"),
  until: z.coerce.date().optional().describe("Created before (ISO 8601)"),
  order: z.enum(["asc", "desc"]).optional().describe("Oldest first (default) or newest first"),
});

export const DayActivity = z.object({
  day: z.string().describe("YYYY-MM-DD, account time zone"),
  files: z.number().describe("Every file of the day"),
  partial: z.number().describe("…of which some rows were refused"),
  failed: z.number().describe("…of which were rejected (every row refused), failed, or not delivered"),
  rowsOk: z.number(),
  rowsError: z.number(),
});

export const User = z.object({
  id: Id,
  accountId: Id,
  login: z.string(),
  role: z.enum(["admin", "member"]).describe("admin: the platform administrator"),
  accountRole: AccountRole,
  createdAt: z.date(),
  disabledAt: z.date().nullable(),
});

export const UserRoleBody = z.strictObject({ accountRole: AccountRole });

export const UserBody = z.strictObject({
  login: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._@+-]+$/, "letters, digits and . _ @ + - only"),
  accountRole: AccountRole.optional().describe("Default: admin for the account's first user, member after"),
});

export const CreatedUser = User.extend({
  password: z.string().describe("The generated password: shown only in this response"),
});

export const SignInBody = z.strictObject({
  login: z.string().min(1).max(200),
  password: z.string().min(1).max(1000),
});

export const SessionInfo = z.object({
  account: z.object({ id: Id, name: z.string(), timeZone: z.string(), currency: z.string() }),
  user: z.object({ id: Id, login: z.string(), role: z.enum(["admin", "member"]) }).nullable(),
  accountRole: AccountRole.describe("The signed-in user's or the token's role in the account"),
  platformAdmin: z.boolean().describe("Whether this is the platform administrator"),
  server: z.object({
    emailSending: z
      .boolean()
      .describe("Whether Ferry can send email (outbound email connections, results mailed back)"),
  }),
  via: z.enum(["session", "token"]),
});

/** Gives schemas an id: the OpenAPI document then names them in components/schemas and refers to them. */
export function named(schemas: Record<string, z.ZodType>): void {
  for (const [id, schema] of Object.entries(schemas))
    z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });
}

named({
  Error: ErrorBody,
  Account,
  AccountBody,
  AccountPatch,
  ApiToken,
  CreatedToken,
  TokenBody,
  AccountRole,
  UserRoleBody,
  PasswordChangeBody,
  Credential,
  CredentialWithSecret,
  CredentialBody,
  CredentialPatch,
  Connection,
  ConnectionBody,
  ConnectionPatch,
  AuditEvent,
  Transfer,
  Pull,
  ResultFile,
  RowErrorPage,
  DayActivity,
  User,
  CreatedUser,
  UserBody,
  SignInBody,
  Session: SessionInfo,
});

// --- webhooks -------------------------------------------------------------------------------------------

const Event = z.enum(WEBHOOK_EVENTS);

export const WebhookEndpoint = z
  .object({
    id: Id,
    url: z.string(),
    description: z.string(),
    events: z.array(z.string()).meta({ description: "Event types sent; empty: every event" }),
    status: z.enum(["active", "disabled"]),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: "WebhookEndpoint" });

export const WebhookEndpointWithSecret = WebhookEndpoint.extend({
  secret: z.string().meta({
    description:
      "The signing secret (Standard Webhooks, whsec_…): in this answer only. Verify webhook-signature with it.",
  }),
}).meta({ id: "WebhookEndpointWithSecret" });

export const WebhookDelivery = z
  .object({
    id: Id,
    endpointId: Id,
    eventId: z.string().meta({ description: "The webhook-id header: the same for every endpoint" }),
    eventType: z.string(),
    payload: z.unknown(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number(),
    responseCode: z.number().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.date(),
    lastAttemptAt: z.date().nullable(),
    deliveredAt: z.date().nullable(),
  })
  .meta({ id: "WebhookDelivery" });

export const EndpointBody = z.strictObject({
  url: z.string().max(2000),
  description: z.string().max(200).optional(),
  events: z.array(Event).max(WEBHOOK_EVENTS.length).optional().describe("Empty or absent: every event"),
});

export const EndpointPatch = z.strictObject({
  url: z.string().max(2000).optional(),
  description: z.string().max(200).optional(),
  events: z.array(Event).max(WEBHOOK_EVENTS.length).optional(),
  status: z.enum(["active", "disabled"]).optional(),
});

// --- email notifications ----------------------------------------------------------------------------------

export const Subscription = z
  .object({
    id: Id,
    userId: Id,
    email: z.string(),
    connectionId: Id.nullable().meta({ description: "Null: every connection" }),
    events: z.array(z.string()).meta({ description: "Empty: every event" }),
    mode: z
      .enum(["immediate", "digest"])
      .meta({ description: "At once, or in a daily digest at 08:00 (account time zone)" }),
    createdAt: z.date(),
  })
  .meta({ id: "Subscription" });

export const SubscriptionBody = z.strictObject({
  userId: Id.optional().describe(
    "Default: the signed-in user (admins may subscribe another user of the account)",
  ),
  email: z.string().max(254).optional().describe("Default: the user's login, when it is an email address"),
  connectionId: Id.nullable().optional().describe("Absent or null: every connection"),
  events: z.array(Event).max(WEBHOOK_EVENTS.length).optional().describe("Empty or absent: every event"),
  mode: z.enum(["immediate", "digest"]).optional().describe("Default: immediate"),
});

// --- PGP keys -------------------------------------------------------------------------------------------

export const PgpKey = z
  .object({
    id: Id,
    kind: z.enum(["own", "partner"]).meta({
      description: "own: a key pair Ferry generated for the account; partner: a partner's public key",
    }),
    name: z.string(),
    fingerprint: z.string().meta({ description: "40 hex digits, as gpg --fingerprint prints them" }),
    keyId: z.string().meta({ description: "The long key id (16 hex digits)" }),
    algorithm: z.string(),
    userIds: z.array(z.string()),
    createdAt: z.date(),
    expiresAt: z.date().nullable(),
    expiry: z
      .enum(["expired", "expiring"])
      .nullable()
      .meta({ description: "expired, or expiring within 30 days; null otherwise" }),
    status: z.enum(["active", "retired"]),
    usedBy: z.array(z.object({ id: Id, name: z.string() })).meta({
      description: "Connections that verify signatures with this key or encrypt to it",
    }),
  })
  .meta({ id: "PgpKey" });

export const PgpKeyBody = z.strictObject({
  name: z.string().max(100),
  algorithm: z.enum(PGP_ALGORITHMS).optional().meta({ description: "Default curve25519" }),
  expiresInDays: z
    .number()
    .int()
    .nullable()
    .optional()
    .meta({ description: "Default 730 (two years); null: never expires" }),
});

export const PartnerKeyBody = z.strictObject({
  name: z.string().max(100),
  publicKey: z
    .string()
    .max(256 * 1024)
    .meta({ description: "The partner's armored public key (gpg --armor --export)" }),
});

export const PgpKeyPatch = z.strictObject({
  name: z.string().max(100).optional(),
  status: z.enum(["active", "retired"]).optional(),
});
