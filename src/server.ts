/**
 * Builds and starts the parts a Ferry process runs, by hand: database, migrations, bootstrap, queue and workers,
 * SFTP, FTP and SMTP servers, HTTP API (FERRY_ROLES picks which). The only module that wires the layers.
 */
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { type EmbeddedDb, startEmbeddedPostgres } from "./db/embedded.js";
import { migrate } from "./db/migrate.js";
import { type DbHandle, openDb } from "./db/pool.js";
import { type BootstrapResult, ensureAdministrator } from "./domain/bootstrap.js";
import { FAILURE_WINDOW_MS, LoginGuard } from "./domain/login-guard.js";
import { loadMasterKey } from "./domain/master-key.js";
import { pgpKeyring } from "./domain/pgp-keys.js";
import { secretBox } from "./domain/secretbox.js";
import { checkMasterKey, sharedSecret } from "./domain/server-secrets.js";
import { COMPACT_STORAGE_CRON, compactStorage } from "./domain/storage.js";
import { buildApp } from "./http/app.js";
import { createMetrics } from "./http/metrics.js";
import { lockDataDir } from "./lock.js";
import { checkDeadlines } from "./pipeline/deadlines.js";
import { noMailer } from "./pipeline/mailer.js";
import { sendDigests, startNotifyWorkers } from "./pipeline/notify.js";
import { startPullWorkers } from "./pipeline/pull.js";
import { RETENTION_CRON, retentionPass } from "./pipeline/retention.js";
import { startScheduler } from "./pipeline/schedule.js";
import { SWEEP_DEFAULTS, sweepStore } from "./pipeline/sweep.js";
import { MAX_UNPACK_RATIO } from "./pipeline/unpack.js";
import { startWebhookWorkers } from "./pipeline/webhooks.js";
import { startProcessing, WORKER_TIMING } from "./pipeline/worker.js";
import { Admission } from "./protocols/admission.js";
import { smtpMailer } from "./protocols/email/mailer.js";
import { SMTP_SESSION_MS, startSmtpServer } from "./protocols/email/server.js";
import { startFtpServer } from "./protocols/ftp/server.js";
import { loadTlsCertificate } from "./protocols/ftp/tls.js";
import { ProxySources } from "./protocols/proxy-protocol.js";
import { remoteConnector } from "./protocols/remote/connect.js";
import { egressPolicy } from "./protocols/remote/egress.js";
import { webhookSender } from "./protocols/remote/webhook-sender.js";
import { loadHostKeys } from "./protocols/sftp/host-keys.js";
import { startSftpServer } from "./protocols/sftp/server.js";
import { BossQueue } from "./queue/boss.js";
import { localStore } from "./store/local.js";
import { parseS3Url, s3Store } from "./store/s3.js";
import { version } from "./version.js";

/** A running Ferry. */
export interface Ferry {
  httpUrl: string;
  /** Null when this process runs no protocol servers (FERRY_ROLES). */
  sftpPort: number | null;
  bootstrap: BootstrapResult;
  close(): Promise<void>;
  /** Settles when this process can no longer work (its embedded PostgreSQL will not start again). */
  fatal: Promise<Error>;
}

/** Attempts, and the waits before them, to start an embedded PostgreSQL that stopped by itself. */
const RESTART_DELAYS_MS = [500, 2000, 5000];

/**
 * Watches the embedded PostgreSQL: when it exits by itself it is started again (meanwhile /healthz says
 * unhealthy and clients get temporary failures); when it will not start, `fatal` settles and the process
 * should exit non-zero so that a supervisor restarts Ferry as a whole.
 */
function superviseEmbedded(embedded: EmbeddedDb, log: Logger): Promise<Error> {
  return new Promise((fail) => {
    embedded.onUnexpectedExit(async (code) => {
      log.error(
        { component: "database", code },
        "the embedded PostgreSQL stopped by itself; starting it again",
      );
      for (const delay of RESTART_DELAYS_MS) {
        await new Promise((r) => setTimeout(r, delay));
        try {
          await embedded.restart();
          log.warn({ component: "database" }, "the embedded PostgreSQL is running again");
          return;
        } catch (err) {
          log.error({ component: "database", err }, "the embedded PostgreSQL did not start");
        }
      }
      fail(new Error("the embedded PostgreSQL stopped and does not start again"));
    });
  });
}

/** The database this process uses: DATABASE_URL, or the embedded PostgreSQL started here. */
export async function openDatabase(
  config: Config,
  log: Logger,
): Promise<{ handle: DbHandle; embedded: EmbeddedDb | undefined; url: string }> {
  let embedded: EmbeddedDb | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const started = Date.now();
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPgPort,
      onLog: (line) => log.debug({ component: "postgres" }, line),
    });
    url = embedded.url;
    log.info(
      {
        component: "postgres",
        port: config.embeddedPgPort,
        initialised: embedded.initialised,
        ms: Date.now() - started,
      },
      "embedded PostgreSQL started",
    );
  }
  return { handle: openDb(url), embedded, url };
}

/** Starts Ferry: database (embedded unless DATABASE_URL), migrations, first-start administrator, HTTP API. */
export async function startFerry(config: Config, log: Logger): Promise<Ferry> {
  // With the embedded PostgreSQL, the data directory is this process's alone (that PostgreSQL stops a
  // postmaster it takes for an orphan): locked before anything touches it. With DATABASE_URL, several
  // processes may share one data directory (one machine, one local file store).
  const exclusive = !config.databaseUrl;
  const unlock = exclusive ? await lockDataDir(config.dataDir) : async () => {};
  let opened: Awaited<ReturnType<typeof openDatabase>>;
  try {
    opened = await openDatabase(config, log);
  } catch (err) {
    await unlock();
    throw err;
  }
  const { handle, embedded, url } = opened;
  const closers: (() => Promise<void>)[] = [unlock];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err) => log.error({ err }, "error while stopping"));
  };
  if (embedded) closers.push(() => embedded.stop());
  closers.push(() => handle.close());
  try {
    const applied = (await migrate(handle.pool)).filter((m) => m.status === "applied");
    if (applied.length)
      log.info({ migrations: applied.map((m) => `${m.id}_${m.name}`) }, "migrations applied");
    const bootstrap = await ensureAdministrator(handle.db, {
      password: config.adminPassword,
      token: config.adminToken,
    });
    const store = config.s3
      ? s3Store({ ...parseS3Url(config.s3.url), ...config.s3 })
      : localStore(path.join(config.dataDir, "files"), { directIo: config.directIo });
    // Leftovers of an earlier run: with the data directory locked, every upload in the store's tmp/ is dead;
    // shared with other processes (or in a bucket other nodes write to), only those idle past the grace are.
    const swept = await sweepStore(
      handle.db,
      store,
      exclusive && !config.s3 ? { ...SWEEP_DEFAULTS, uploadGraceMs: 0 } : SWEEP_DEFAULTS,
    );
    if (swept.uploads || swept.objects) log.info({ component: "sweep", ...swept }, "removed store leftovers");
    const box = secretBox(await loadMasterKey(config, log));
    // Every process on this database must hold the same master key: refused here, before anything is sealed.
    await checkMasterKey(handle.db, box);
    const shared = (name: string, make: () => Promise<string>) => sharedSecret(handle.db, box, name, make);
    const connect = remoteConnector(egressPolicy(config.remoteAllowPrivate));
    const mailer = config.smtpRelayUrl ? smtpMailer(config.smtpRelayUrl, config.mailFrom) : noMailer;
    const queue = await BossQueue.start(
      {
        url,
        schema: config.jobsSchema,
        pollingSeconds: WORKER_TIMING.pollingSeconds,
        webhookRetrySeconds: config.webhookRetrySeconds,
      },
      log.child({ component: "jobs" }),
    );
    closers.push(() => queue.stop());
    if (config.roles.workers && config.workers > 0) {
      const processing = await startProcessing(
        queue,
        {
          pool: handle.pool,
          store,
          log: log.child({ component: "process" }),
          pgp: pgpKeyring(handle.db, box),
          limits: {
            maxLineChars: config.maxLineChars,
            unpack: { maxUnpackedBytes: config.maxUnpackedBytes, maxRatio: MAX_UNPACK_RATIO },
          },
        },
        {
          mailer: mailer,
          maxAttachmentBytes: config.emailAttachmentMaxBytes,
          publicUrl: config.publicUrl,
          remote: { db: handle.db, box, connect },
        },
        {
          concurrency: config.workers,
          ...WORKER_TIMING,
          perAccount: config.processingPerAccount,
        },
      );
      closers.push(() => processing.stop());
      await startNotifyWorkers(
        queue,
        {
          pool: handle.pool,
          mailer: mailer,
          publicUrl: config.publicUrl,
          log: log.child({ component: "notify" }),
        },
        WORKER_TIMING.pollingSeconds,
      );
      await startWebhookWorkers(
        queue,
        {
          pool: handle.pool,
          box,
          sender: webhookSender(egressPolicy(config.remoteAllowPrivate)),
          log: log.child({ component: "webhooks" }),
        },
        4,
        WORKER_TIMING.pollingSeconds,
      );
    }
    if (config.roles.scheduler) {
      await startPullWorkers(
        queue,
        handle.pool,
        {
          db: handle.db,
          store,
          queue,
          box,
          connect,
          log: log.child({ component: "pull" }),
          settleMs: config.pullSettleMs,
        },
        { workers: config.pullWorkers, perAccount: config.pullsPerAccount },
      );
    }
    // Every scheduler may tick: the unique index on scheduled periods makes each run exactly once.
    if (config.roles.scheduler) {
      const scheduler = startScheduler(
        handle.db,
        queue,
        log.child({ component: "schedule" }),
        config.schedulerMs,
      );
      closers.push(() => scheduler.stop());
    }
    // Housekeeping on pg-boss's cron, once a tick across the processes with the scheduler role.
    if (config.roles.scheduler) {
      await queue.every("retention", RETENTION_CRON, () => retentionPass(handle.db, store, config, log));
      await queue.every("notification-digests", "0 * * * *", () =>
        sendDigests({
          pool: handle.pool,
          mailer: mailer,
          publicUrl: config.publicUrl,
          log: log.child({ component: "notify" }),
        }).then(
          () => {},
          (err) => log.error({ component: "notify", err }, "sending digests failed"),
        ),
      );
      await queue.every("check-deadlines", "* * * * *", () =>
        checkDeadlines(handle.db, queue, log.child({ component: "deadlines" })).then(
          () => {},
          (err) => log.error({ component: "deadlines", err }, "checking expected files failed"),
        ),
      );
      await queue.every("fold-storage", COMPACT_STORAGE_CRON, () =>
        compactStorage(handle.db).then(
          () => {},
          (err) => log.error({ component: "storage", err }, "folding storage changes failed"),
        ),
      );
    }
    const guard = new LoginGuard(handle.pool, {
      maxFailures: config.loginMaxFailures,
      windowMs: FAILURE_WINDOW_MS,
      banMs: config.loginBanMs,
      maxSessionsPerCredential: config.maxSessionsPerCredential,
      maxHandlesPerCredential: config.maxHandlesPerCredential,
    });
    guard.start();
    closers.push(async () => guard.stop());
    const app = await buildApp({
      db: handle.db,
      box,
      store,
      endpoints: {
        publicHost: config.publicHost,
        sftpPort: config.sftpPort,
        ftpPort: config.ftpPort,
        emailDomain: config.emailDomain,
      },
      retention: config.retention,
      metrics: createMetrics(),
      queue,
      maxUploadBytes: config.maxUploadBytes,
      emailSending: Boolean(config.smtpRelayUrl),
      remote: { db: handle.db, box, connect },
      presignDownloads: config.s3?.presignDownloads ?? false,
      api: config.roles.http,
      logger: log.child({ component: "http" }),
      version,
      loginGuard: guard,
      metricsToken: config.metricsToken,
      secureCookies: config.publicUrl.startsWith("https://"),
      trustedProxies: config.trustedProxies,
    });

    let sftpPort: number | null = null;
    if (config.roles.servers) {
      // SFTP and FTP serve the same virtual file system, over the same store and limits.
      const vfsDeps = { db: handle.db, store, queue, maxUploadBytes: config.maxUploadBytes };
      // Each server guards its own connections not logged in yet (an SMTP session never logs in: its place is
      // held until it ends, at most SMTP_SESSION_MS).
      const admission = (graceMs: number) =>
        new Admission({ perIp: config.preAuthPerIp, total: config.preAuthTotal, graceMs });
      const proxySources = new ProxySources(config.trustedProxies);
      const sftp = await startSftpServer(
        vfsDeps,
        guard,
        {
          hostKeys: await loadHostKeys(config.dataDir, config.sshHostKeys, shared),
          port: config.sftpPort,
          bind: config.bind,
          idleMs: config.idleTimeoutMs,
          admission: admission(config.loginGraceMs),
          proxySources,
        },
        log.child({ component: "sftp" }),
      );
      closers.push(() => sftp.close());
      sftpPort = sftp.port;
      // One certificate for FTPS and SMTP STARTTLS.
      const tls = await loadTlsCertificate(
        config.dataDir,
        config.publicHost,
        { cert: config.ftpTlsCert, key: config.ftpTlsKey },
        shared,
      );
      const ftp = await startFtpServer(
        vfsDeps,
        guard,
        {
          port: config.ftpPort,
          bind: config.bind,
          passiveAddress: config.ftpPassiveAddress,
          passivePorts: config.ftpPassivePorts,
          tls,
          requireTls: config.ftpRequireTls,
          activeMode: config.ftpActiveMode,
          idleMs: config.idleTimeoutMs,
          admission: admission(config.loginGraceMs),
          proxySources,
        },
        log.child({ component: "ftp" }),
      );
      closers.push(() => ftp.close());
      const smtp = await startSmtpServer(
        vfsDeps,
        {
          port: config.smtpPort,
          bind: config.bind,
          domain: config.emailDomain,
          maxMessageBytes: config.smtpMaxMessageBytes,
          dnsServers: config.dnsServers,
          tls,
          admission: admission(SMTP_SESSION_MS),
          proxyFrom: config.trustedProxies,
        },
        log.child({ component: "smtp" }),
      );
      closers.push(() => smtp.close());
    }

    // HTTP last: once /healthz answers, every server of this process is up.
    closers.push(() => app.close());
    await app.listen({ host: config.bind, port: config.httpPort });
    const host = config.bind === "0.0.0.0" || config.bind === "::" ? "localhost" : config.bind;
    const fatal = embedded ? superviseEmbedded(embedded, log) : new Promise<Error>(() => {});
    return { httpUrl: `http://${host}:${config.httpPort}`, sftpPort, bootstrap, close, fatal };
  } catch (err) {
    await close();
    throw err;
  }
}
