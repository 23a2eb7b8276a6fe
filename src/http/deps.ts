/** What the API needs (server.ts fills it; app.ts and every route read it). */

import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Database } from "../db/schema.js";
import type { Endpoints, RetentionDefaults } from "../domain/connections.js";
import type { LoginGuard } from "../domain/login-guard.js";
import type { SecretBox } from "../domain/secretbox.js";
import type { JobQueue } from "../pipeline/jobs.js";
import type { RemoteAccess } from "../pipeline/remote.js";
import type { FileStore } from "../pipeline/store.js";
import type { RequestLimits } from "./limits.js";

export interface ApiDeps {
  db: Kysely<Database>;
  box: SecretBox;
  store: FileStore;
  endpoints: Endpoints;
  /** The server's retention defaults (connections show how long their files are kept). */
  retention?: RetentionDefaults | undefined;
  metrics: Registry;
  /** Where uploads through the API enqueue their processing. */
  queue: JobQueue;
  /** Logging in to customers' servers (the connector of pulls and deliveries), for "Test connection". */
  remote?: RemoteAccess | undefined;
  /** Whether Ferry can send email (an SMTP relay is configured): outbound email and mailed results need it. */
  emailSending?: boolean | undefined;
  /** Largest file accepted by upload, in bytes. */
  maxUploadBytes: number;
  /** Download links redirect to a presigned URL of the object store (when the store signs them). */
  presignDownloads?: boolean;
  logger?: Logger | undefined;
  version?: string | undefined;
  /** Serve the API and the web UI (false: /healthz and /metrics only, a process without the http role). */
  api?: boolean;
  /** Failed-login limits, shared with SFTP/FTP (web sign-ins count under `web:<login>`). */
  loginGuard: LoginGuard;
  /** Bearer token that lets non-loopback clients read /metrics (unset: loopback only). */
  metricsToken?: string | undefined;
  /**
   * Load balancers whose X-Forwarded-For names the client (FERRY_TRUSTED_PROXIES): request.ip is then the
   * client's, for bans, audit and the /metrics loopback check. Nobody else's header is believed.
   */
  trustedProxies?: string[] | undefined;
  /** Session cookies get the Secure flag even over plain HTTP (Ferry served as https behind a proxy). */
  secureCookies?: boolean | undefined;
  /** Time limits on request bodies (default: limits.ts's DEFAULT_LIMITS). */
  requestLimits?: RequestLimits | undefined;
  /** The built web UI (default: dist/web); not served when absent. */
  webRoot?: string | undefined;
}
