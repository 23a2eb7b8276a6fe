/** Ferry's one typed configuration: resolved once from the environment and CLI flags, checked with zod. */

import net from "node:net";
import path from "node:path";
import { z } from "zod";

const port = z.coerce.number().int().min(1).max(65535);

/** Checks a FERRY_REMOTE_ALLOW_PRIVATE value (protocols/remote/egress.ts applies it); why it is wrong, or null. */
export function egressSettingError(setting: string): string | null {
  if (setting === "true" || setting === "false") return null;
  for (const item of setting
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [address, prefix] = item.split("/");
    const bits = net.isIPv4(address ?? "") ? 32 : net.isIPv6(address ?? "") ? 128 : 0;
    if (!bits) return `"${item}" is not an IP address or CIDR range`;
    if (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= bits)) {
      return `"${item}" has a bad prefix length`;
    }
  }
  return null;
}

/** What the environment and flags may say; every value is optional and has a default below. */
const RawConfig = z.object({
  /** PostgreSQL connection string. When unset, Ferry starts an embedded PostgreSQL. (Default: unset) */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
    .optional(),
  /** Where Ferry keeps its state: the embedded database, files, keys. (Default: ./data) */
  FERRY_DATA_DIR: z.string().min(1).default("./data"),
  /**
   * Write large uploads and read large files with O_DIRECT (falls back by itself where the file system refuses
   * it); false keeps every file in the page cache. (Default: true)
   */
  FERRY_DIRECT_IO: z.enum(["true", "false"]).default("true"),
  /**
   * Where files are kept: unset, the data directory's files/ (local disk); s3://bucket/prefix, an S3-compatible
   * object store shared by every node (credentials from the AWS SDK's standard chain: AWS_ACCESS_KEY_ID…).
   */
  FERRY_STORE_URL: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, "must be s3://bucket or s3://bucket/prefix")
    .optional(),
  /** The S3 endpoint, for a store that is not AWS (Ceph RGW, MinIO): e.g. https://s3.example.com */
  FERRY_S3_ENDPOINT: z.url().optional(),
  /** The S3 region. (Default: us-east-1) */
  FERRY_S3_REGION: z.string().min(1).default("us-east-1"),
  /** Path-style addressing (bucket in the path, not the host name), which Ceph RGW and MinIO need. (Default: false) */
  FERRY_S3_FORCE_PATH_STYLE: z.enum(["true", "false"]).default("false"),
  /**
   * Emailed download links send the browser to a presigned URL of the object (valid 5 minutes) instead of
   * streaming the file through Ferry; only where users can reach the S3 endpoint. (Default: false)
   */
  FERRY_S3_PRESIGN_DOWNLOADS: z.enum(["true", "false"]).default("false"),
  /**
   * 8 MiB part buffers one node shares among all its SFTP, FTP and HTTP uploads into S3 (each upload holds at
   * most 3: one filling, two being sent; an account at most half). Bounds the node's upload memory. (Default: 16)
   */
  FERRY_S3_UPLOAD_BUFFERS: z.coerce.number().int().min(3).max(4096).default(16),
  /** Address the servers listen on. (Default: 0.0.0.0) */
  FERRY_BIND: z.string().min(1).default("0.0.0.0"),
  /** Host name users' clients connect to, used in connection addresses. (Default: localhost) */
  FERRY_PUBLIC_HOST: z.string().min(1).default("localhost"),
  /** HTTP port: REST API, web UI, /healthz, /metrics. (Default: 8080) */
  FERRY_HTTP_PORT: port.default(8080),
  /** SFTP server port. (Default: 2222) */
  FERRY_SFTP_PORT: port.default(2222),
  /** FTP server port. (Default: 2121) */
  FERRY_FTP_PORT: port.default(2121),
  /** SMTP server port. (Default: 2525) */
  FERRY_SMTP_PORT: port.default(2525),
  /** Domain of inbound email connections' addresses, accepted at RCPT. (Default: FERRY_PUBLIC_HOST) */
  FERRY_EMAIL_DOMAIN: z.string().min(1).optional(),
  /** SMTP relay for outgoing mail, smtp://user:pass@host:587 or smtps://…; unset: nothing is sent. */
  FERRY_SMTP_RELAY_URL: z
    .string()
    .regex(/^smtps?:\/\//, "must start with smtp:// or smtps://")
    .optional(),
  /** Sender of outgoing mail. (Default: ferry@FERRY_EMAIL_DOMAIN) */
  FERRY_MAIL_FROM: z.email().optional(),
  /** Generated files larger than this go by email as a download link instead. (Default: 10 MiB) */
  FERRY_EMAIL_ATTACHMENT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(10 * 1024 ** 2),
  /** Ferry's HTTP address as users reach it, for links in emails. (Default: http://FERRY_PUBLIC_HOST:FERRY_HTTP_PORT) */
  FERRY_PUBLIC_URL: z.url().optional(),
  /** Bearer token for /metrics from other machines; unset: /metrics answers loopback clients only. */
  FERRY_METRICS_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  /** Largest email accepted, in bytes. (Default: 50 MiB) */
  FERRY_SMTP_MAX_MESSAGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(50 * 1024 ** 2),
  /** Largest file accepted by upload, in bytes. (Default: 5 GiB) */
  FERRY_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(5 * 1024 ** 3),
  /** SFTP/FTP sessions idle this many seconds are closed. (Default: 600) */
  FERRY_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(600),
  /**
   * The first retry delay of a failed webhook delivery, in seconds; it doubles after each failure (8 retries:
   * with 10, about 40 minutes in all). (Default: 10)
   */
  FERRY_WEBHOOK_RETRY_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** Concurrent SFTP/FTP sessions allowed per credential: parallel clients (rclone --transfers 16) open many. (Default: 32) */
  FERRY_MAX_SESSIONS_PER_CREDENTIAL: z.coerce.number().int().min(1).default(32),
  /**
   * Open SFTP files and directories per credential across all its sessions (each session also has at most
   * 512, as OpenSSH's sftp-server). (Default: 1024)
   */
  FERRY_MAX_HANDLES_PER_CREDENTIAL: z.coerce.number().int().min(1).default(1024),
  /**
   * Connections not logged in yet, per IP address and in all (OpenSSH's PerSourceMaxStartups/MaxStartups),
   * for SFTP, FTP and SMTP each; more are refused at once. (Default: 32, 256)
   */
  FERRY_PREAUTH_PER_IP: z.coerce.number().int().min(1).default(32),
  FERRY_PREAUTH_TOTAL: z.coerce.number().int().min(1).default(256),
  /**
   * IP addresses of load balancers in front of Ferry (comma-separated). Their SFTP, FTP and SMTP connections must
   * start with a PROXY protocol header (HAProxy's `send-proxy`) and their HTTP requests' X-Forwarded-For is
   * believed: limits, bans and audit then see the client, not the balancer. Others are taken as they are. (Default: none)
   */
  FERRY_TRUSTED_PROXIES: z
    .string()
    .default("")
    .refine(
      (v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
          .every((s) => net.isIP(s) !== 0),
      "must be a comma-separated list of IP addresses",
    ),
  /** Seconds from connect to login for SFTP and FTP (OpenSSH's LoginGraceTime); then closed. (Default: 120) */
  FERRY_LOGIN_GRACE_SECONDS: z.coerce.number().int().min(1).default(120),
  /**
   * Whether pulls and deliveries may connect to local and private addresses: "false" (public addresses only),
   * "true" (anything: self-hosted use), or a comma-separated list of addresses and CIDR ranges allowed.
   * (Default: false)
   */
  FERRY_REMOTE_ALLOW_PRIVATE: z
    .string()
    .refine((v) => egressSettingError(v) === null, {
      error: (issue) => egressSettingError(String(issue.input)) ?? "is invalid",
    })
    .default("false"),
  /**
   * DNS servers for verifying the senders that email connections list (SPF, DKIM, DMARC): comma-separated
   * "ip" or "ip:port"; unset: the system's resolvers.
   */
  FERRY_DNS_SERVERS: z
    .string()
    .refine(
      (v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
          .every((s) => net.isIP(s) !== 0 || /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\]):\d{1,5}$/i.test(s)),
      'must be a comma-separated list of "ip" or "ip:port" (IPv6 with a port: "[ip]:port")',
    )
    .optional(),
  /**
   * Failed logins within 15 minutes from one IP address for one username that ban the pair (the address
   * alone is banned after three times as many; a username alone never is). (Default: 10)
   */
  FERRY_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(10),
  /** How long such a ban lasts, in seconds. (Default: 1800) */
  FERRY_LOGIN_BAN_SECONDS: z.coerce.number().int().min(1).default(1800),
  /** Address given to FTP clients for passive data connections. (Default: 127.0.0.1) */
  FERRY_FTP_PASV_ADDRESS: z.string().min(1).default("127.0.0.1"),
  /** Passive FTP data ports, "min-max". (Default: 30000-30099) */
  FERRY_FTP_PASV_PORTS: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be "min-max", e.g. 30000-30099')
    .refine((v) => {
      const [a, b] = v.split("-").map(Number) as [number, number];
      return a >= 1024 && b <= 65535 && a <= b;
    }, "must be a range within 1024-65535, min <= max")
    .default("30000-30099"),
  /** Refuse FTP logins before AUTH TLS; plain FTP only when set to false. (Default: true) */
  FERRY_FTP_REQUIRE_TLS: z.enum(["true", "false"]).default("true"),
  FERRY_FTP_ACTIVE_MODE: z.enum(["true", "false"]).default("false"),
  /** FTPS certificate and key files (PEM); when unset a self-signed pair is generated in the data directory. */
  FERRY_FTP_TLS_CERT: z.string().optional(),
  FERRY_FTP_TLS_KEY: z.string().optional(),
  /** Comma-separated files of SSH host private keys; when unset they are generated in the data directory. */
  FERRY_SSH_HOST_KEYS: z.string().optional(),
  /** Port of the embedded PostgreSQL, on 127.0.0.1 only. (Default: 5439) */
  FERRY_EMBEDDED_PG_PORT: port.default(5439),
  /** On a first start, the administrator's password instead of a generated one. (Default: generated) */
  FERRY_ADMIN_PASSWORD: z.string().min(12, "must be at least 12 characters").optional(),
  /** On a first start, the administrator's API token instead of a generated one. (Default: generated) */
  FERRY_ADMIN_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_\-.]{24,200}$/, "must be 24 to 200 characters of A-Z a-z 0-9 _ - .")
    .optional(),
  /**
   * 32-byte key (base64) that encrypts secrets Ferry must be able to read back, such as the password of a
   * third-party server. Several Ferry processes must share it. (Default: generated once in the data directory)
   */
  FERRY_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64-encoded")
    .optional(),
  /** A file holding the master key (base64), e.g. a mounted secret; instead of FERRY_MASTER_KEY. */
  FERRY_MASTER_KEY_FILE: z.string().min(1).optional(),
  /**
   * Days generated (outbound) files are kept; then their bytes go, their Transfer stays. Accounts and
   * connections may set their own. (Default: 30)
   */
  FERRY_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(30),
  /** Days received (inbound) files are kept, as FERRY_RETENTION_DAYS. (Default: 90) */
  FERRY_INBOUND_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(90),
  /** Days result files (receipt, summary, errors) are kept, as FERRY_RETENTION_DAYS. (Default: 90) */
  FERRY_RESULT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(90),
  /** Days audit events are kept; older ones are deleted. (Default: 365) */
  FERRY_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(365),
  /**
   * Pull from a third party: milliseconds between the two looks at a remote file's size and time; a file that
   * changed in between is still being written and is left for the next pull. (Default: 2000)
   */
  FERRY_PULL_SETTLE_MS: z.coerce.number().int().min(0).max(600_000).default(2000),
  /** How often each process looks for due outbound runs and pulls, in seconds. (Default: 30) */
  FERRY_SCHEDULER_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  /**
   * What this process does, for deployments that scale them apart (comma-separated, or "all"): `servers`
   * (SFTP, FTP, SMTP), `http` (API and web UI; /healthz and /metrics answer on every process), `workers`
   * (processing files, generating and delivering outbound files), `scheduler` (schedules and pulls from third
   * parties). (Default: all)
   */
  FERRY_ROLES: z
    .string()
    .refine(
      (v) =>
        v.trim() === "all" ||
        v.split(",").every((r) => ["servers", "http", "workers", "scheduler"].includes(r.trim())),
      'must be "all" or a comma-separated list of servers, http, workers, scheduler',
    )
    .default("all"),
  /** Files processed at once by this process; 0 runs no processing here (API/servers only). (Default: 2) */
  FERRY_WORKERS: z.coerce.number().int().min(0).max(64).default(2),
  /**
   * Files of one account processed at once across all Ferry processes, so one account's burst leaves workers
   * to the others; 0: no limit (a single-tenant installation). (Default: 1)
   */
  FERRY_PROCESSING_PER_ACCOUNT: z.coerce.number().int().min(0).max(64).default(1),
  /** Pulls from third parties run at once by this process (when FERRY_WORKERS > 0). (Default: 2) */
  FERRY_PULL_WORKERS: z.coerce.number().int().min(1).max(16).default(2),
  /**
   * Pulls of one account run at once across all Ferry processes, so one account's many (or slow) remote
   * servers leave pull workers to the others; 0: no limit. (Default: 1)
   */
  FERRY_PULLS_PER_ACCOUNT: z.coerce.number().int().min(0).max(16).default(1),
  /** Schema of the job queue's tables (pg-boss). (Default: ferry_jobs) */
  FERRY_JOBS_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier")
    .default("ferry_jobs"),
  /** Longest row of a delimited file, in characters; longer rows are row errors. (Default: 1048576) */
  FERRY_MAX_LINE_CHARS: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Largest size a packed file (.gz, .zip) may unpack to, in bytes. (Default: 20 GiB) */
  FERRY_MAX_UNPACKED_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(20 * 1024 ** 3),
  /** pino log level. (Default: info) */
  FERRY_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

/** The resolved configuration that the rest of Ferry sees. */
export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  /** Direct I/O for large files (store/local.ts). */
  directIo: boolean;
  /** The object store, when files are kept in S3 (FERRY_STORE_URL); local disk otherwise. */
  s3:
    | {
        url: string;
        endpoint: string | undefined;
        region: string;
        forcePathStyle: boolean;
        presignDownloads: boolean;
        uploadBuffers: number;
      }
    | undefined;
  bind: string;
  publicHost: string;
  httpPort: number;
  sftpPort: number;
  ftpPort: number;
  smtpPort: number;
  emailDomain: string;
  smtpMaxMessageBytes: number;
  smtpRelayUrl: string | undefined;
  mailFrom: string;
  emailAttachmentMaxBytes: number;
  publicUrl: string;
  metricsToken: string | undefined;
  embeddedPgPort: number;
  maxUploadBytes: number;
  idleTimeoutMs: number;
  webhookRetrySeconds: number;
  maxSessionsPerCredential: number;
  maxHandlesPerCredential: number;
  preAuthPerIp: number;
  dnsServers: string[];
  /** FERRY_REMOTE_ALLOW_PRIVATE as given (protocols/remote/egress.ts reads it). */
  remoteAllowPrivate: string;
  preAuthTotal: number;
  /** FERRY_TRUSTED_PROXIES' addresses. */
  trustedProxies: string[];
  loginGraceMs: number;
  loginMaxFailures: number;
  loginBanMs: number;
  sshHostKeys: string[];
  ftpPassiveAddress: string;
  ftpPassivePorts: [number, number];
  ftpRequireTls: boolean;
  /** FTP active mode (PORT/EPRT) allowed. */
  ftpActiveMode: boolean;
  ftpTlsCert: string | undefined;
  ftpTlsKey: string | undefined;
  adminPassword: string | undefined;
  adminToken: string | undefined;
  masterKey: Buffer | undefined;
  masterKeyFile: string | undefined;
  workers: number;
  processingPerAccount: number;
  pullWorkers: number;
  /** What this process does (FERRY_ROLES). */
  roles: { servers: boolean; http: boolean; workers: boolean; scheduler: boolean };
  pullsPerAccount: number;
  /** Days each kind of file is kept by default (accounts and connections may say otherwise). */
  retention: { inbound: number; results: number; outbound: number };
  auditRetentionDays: number;
  pullSettleMs: number;
  schedulerMs: number;
  jobsSchema: string;
  maxLineChars: number;
  maxUnpackedBytes: number;
  logLevel: z.infer<typeof RawConfig>["FERRY_LOG_LEVEL"];
}

/** A configuration value was refused; the message names the variable and the reason. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Resolves the configuration from environment variables, overridden by flags (given with the same
 * names, e.g. `{ FERRY_HTTP_PORT: "9000" }`). Throws ConfigError naming every bad variable.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  flags: Record<string, string | undefined> = {},
): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(RawConfig.shape)) {
    const value = flags[key] ?? env[key];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const parsed = RawConfig.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const c = parsed.data;
  return {
    databaseUrl: c.DATABASE_URL,
    dataDir: path.resolve(c.FERRY_DATA_DIR),
    directIo: c.FERRY_DIRECT_IO === "true",
    s3: c.FERRY_STORE_URL
      ? {
          url: c.FERRY_STORE_URL,
          endpoint: c.FERRY_S3_ENDPOINT,
          region: c.FERRY_S3_REGION,
          forcePathStyle: c.FERRY_S3_FORCE_PATH_STYLE === "true",
          presignDownloads: c.FERRY_S3_PRESIGN_DOWNLOADS === "true",
          uploadBuffers: c.FERRY_S3_UPLOAD_BUFFERS,
        }
      : undefined,
    bind: c.FERRY_BIND,
    publicHost: c.FERRY_PUBLIC_HOST,
    httpPort: c.FERRY_HTTP_PORT,
    sftpPort: c.FERRY_SFTP_PORT,
    ftpPort: c.FERRY_FTP_PORT,
    smtpPort: c.FERRY_SMTP_PORT,
    emailDomain: (c.FERRY_EMAIL_DOMAIN ?? c.FERRY_PUBLIC_HOST).toLowerCase(),
    smtpMaxMessageBytes: c.FERRY_SMTP_MAX_MESSAGE_BYTES,
    smtpRelayUrl: c.FERRY_SMTP_RELAY_URL,
    mailFrom: c.FERRY_MAIL_FROM ?? `ferry@${(c.FERRY_EMAIL_DOMAIN ?? c.FERRY_PUBLIC_HOST).toLowerCase()}`,
    emailAttachmentMaxBytes: c.FERRY_EMAIL_ATTACHMENT_MAX_BYTES,
    publicUrl: (c.FERRY_PUBLIC_URL ?? `http://${c.FERRY_PUBLIC_HOST}:${c.FERRY_HTTP_PORT}`).replace(
      /\/$/,
      "",
    ),
    embeddedPgPort: c.FERRY_EMBEDDED_PG_PORT,
    metricsToken: c.FERRY_METRICS_TOKEN,
    maxUploadBytes: c.FERRY_MAX_UPLOAD_BYTES,
    idleTimeoutMs: c.FERRY_IDLE_TIMEOUT_SECONDS * 1000,
    webhookRetrySeconds: c.FERRY_WEBHOOK_RETRY_SECONDS,
    maxSessionsPerCredential: c.FERRY_MAX_SESSIONS_PER_CREDENTIAL,
    maxHandlesPerCredential: c.FERRY_MAX_HANDLES_PER_CREDENTIAL,
    preAuthPerIp: c.FERRY_PREAUTH_PER_IP,
    remoteAllowPrivate: c.FERRY_REMOTE_ALLOW_PRIVATE,
    dnsServers: (c.FERRY_DNS_SERVERS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    preAuthTotal: c.FERRY_PREAUTH_TOTAL,
    trustedProxies: c.FERRY_TRUSTED_PROXIES.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    loginGraceMs: c.FERRY_LOGIN_GRACE_SECONDS * 1000,
    loginMaxFailures: c.FERRY_LOGIN_MAX_FAILURES,
    loginBanMs: c.FERRY_LOGIN_BAN_SECONDS * 1000,
    ftpPassiveAddress: c.FERRY_FTP_PASV_ADDRESS,
    ftpPassivePorts: c.FERRY_FTP_PASV_PORTS.split("-").map(Number) as [number, number],
    ftpRequireTls: c.FERRY_FTP_REQUIRE_TLS === "true",
    ftpActiveMode: c.FERRY_FTP_ACTIVE_MODE === "true",
    ftpTlsCert: c.FERRY_FTP_TLS_CERT,
    ftpTlsKey: c.FERRY_FTP_TLS_KEY,
    sshHostKeys: c.FERRY_SSH_HOST_KEYS
      ? c.FERRY_SSH_HOST_KEYS.split(",")
          .map((f) => f.trim())
          .filter(Boolean)
      : [],
    adminPassword: c.FERRY_ADMIN_PASSWORD,
    adminToken: c.FERRY_ADMIN_TOKEN,
    masterKey: c.FERRY_MASTER_KEY ? Buffer.from(c.FERRY_MASTER_KEY, "base64") : undefined,
    masterKeyFile: c.FERRY_MASTER_KEY_FILE,
    workers: c.FERRY_WORKERS,
    processingPerAccount: c.FERRY_PROCESSING_PER_ACCOUNT,
    pullWorkers: c.FERRY_PULL_WORKERS,
    roles: rolesOf(c.FERRY_ROLES),
    pullsPerAccount: c.FERRY_PULLS_PER_ACCOUNT,
    retention: {
      inbound: c.FERRY_INBOUND_RETENTION_DAYS,
      results: c.FERRY_RESULT_RETENTION_DAYS,
      outbound: c.FERRY_RETENTION_DAYS,
    },
    auditRetentionDays: c.FERRY_AUDIT_RETENTION_DAYS,
    pullSettleMs: c.FERRY_PULL_SETTLE_MS,
    schedulerMs: c.FERRY_SCHEDULER_SECONDS * 1000,
    jobsSchema: c.FERRY_JOBS_SCHEMA,
    maxLineChars: c.FERRY_MAX_LINE_CHARS,
    maxUnpackedBytes: c.FERRY_MAX_UNPACKED_BYTES,
    logLevel: c.FERRY_LOG_LEVEL,
  };
}

function rolesOf(setting: string): Config["roles"] {
  const all = setting.trim() === "all";
  const set = new Set(setting.split(",").map((r) => r.trim()));
  const has = (role: string) => all || set.has(role);
  return { servers: has("servers"), http: has("http"), workers: has("workers"), scheduler: has("scheduler") };
}
