/** The CLI commands that act through the REST API: accounts, tokens, credentials, connections. */
import { type Command, InvalidArgumentError } from "commander";
import { DATA_TYPES, DIRECTIONS, METHODOLOGIES, METHODS } from "../domain/connection-rules.js";
import { action, allPages, choice, fileArg, jsonArg, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

function secretNotice(c: Obj): void {
  printObject({
    id: c.id,
    name: c.name,
    kind: c.kind,
    username: c.username,
    fingerprint: c.fingerprint ?? undefined,
  });
  if (c.password) {
    process.stdout.write(`password: ${c.password}\n\nCopy the password now: it is never shown again.\n`);
  }
}

const CONNECTION_COLUMNS = {
  id: "ID",
  name: "NAME",
  dataType: "TYPE",
  direction: "DIRECTION",
  method: "METHOD",
  methodology: "METHODOLOGY",
  status: "STATUS",
};

/** A number of days from the command line, or "default" (null: the setting one level up). */
function daysArg(flag: string, value: unknown): number | null {
  const v = String(value);
  if (v === "default") return null;
  if (!/^[1-9]\d*$/.test(v) || Number(v) > 36500)
    throw new Error(`${flag} must be 1 to 36500 days, or "default"`);
  return Number(v);
}

export function registerApiCommands(program: Command): void {
  // --- accounts and tokens ---
  const accounts = program.command("accounts").description("accounts (brands and partners)");
  accounts
    .command("create")
    .description("create an account (administrator token)")
    .requiredOption("--name <name>", "account name")
    .addOption(choice("--type <type>", "account type", ["brand", "partner"]).makeOptionMandatory())
    .option("--time-zone <tz>", "IANA time zone, e.g. Europe/Paris (default UTC)")
    .option("--currency <code>", "ISO 4217 currency (default USD)")
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", "/api/v1/accounts", {
            name: o.name,
            type: o.type,
            ...(o.timeZone ? { timeZone: o.timeZone } : {}),
            ...(o.currency ? { currency: o.currency } : {}),
          }),
        printObject,
      ),
    );
  accounts
    .command("list")
    .description("accounts you can see")
    .action(
      action(
        async (api) => (await api.request<{ items: Obj[] }>("GET", "/api/v1/accounts")).items,
        (rows: Obj[]) =>
          printTable(rows, {
            id: "ID",
            name: "NAME",
            type: "TYPE",
            timeZone: "TIME ZONE",
            storageUsedBytes: "STORED BYTES",
            storageQuotaBytes: "QUOTA BYTES",
          }),
      ),
    );
  accounts
    .command("set-quota")
    .description(
      "set an account's storage quota (administrator token); uploads that would go over it are refused",
    )
    .requiredOption("--account <id>", "account id")
    .requiredOption("--bytes <n>", 'the most bytes its received files may take, or "none"')
    .action(
      action((api, o: Obj) => {
        const bytes = String(o.bytes);
        if (bytes !== "none" && !/^[1-9]\d*$/.test(bytes))
          throw new Error('--bytes must be a positive whole number of bytes, or "none"');
        return api.request("PATCH", `/api/v1/accounts/${encodeURIComponent(String(o.account))}`, {
          storageQuotaBytes: bytes === "none" ? null : Number(bytes),
        });
      }, printObject),
    );

  accounts
    .command("set-retention")
    .description(
      'how long an account keeps each kind of file, in days ("default": the server\'s); then the bytes go and the records stay',
    )
    .requiredOption("--account <id>", "account id")
    .option("--inbound <days>", "received files")
    .option("--results <days>", "result files (receipt, summary, errors)")
    .option("--outbound <days>", "generated files")
    .action(
      action(
        (api, o: Obj) =>
          api.request("PATCH", `/api/v1/accounts/${encodeURIComponent(String(o.account))}`, {
            retention: {
              ...(o.inbound !== undefined ? { inboundDays: daysArg("--inbound", o.inbound) } : {}),
              ...(o.results !== undefined ? { resultDays: daysArg("--results", o.results) } : {}),
              ...(o.outbound !== undefined ? { outboundDays: daysArg("--outbound", o.outbound) } : {}),
            },
          }),
        printObject,
      ),
    );

  const tokens = program.command("tokens").description("API tokens");
  tokens
    .command("create")
    .description("create an API token for an account; it is shown once")
    .requiredOption("--account <id>", "account id")
    .option("--name <name>", "what the token is for")
    .option("--expires-in-days <days>", "days it works, 1-365 (default 90)")
    .option("--never-expires", "a token that never expires (administrator token only)")
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", `/api/v1/accounts/${encodeURIComponent(String(o.account))}/tokens`, {
            ...(o.name ? { name: o.name } : {}),
            ...(o.neverExpires
              ? { expiresInDays: null }
              : o.expiresInDays
                ? { expiresInDays: Number(o.expiresInDays) }
                : {}),
          }),
        (t: Obj) => {
          printObject({
            id: t.id,
            accountId: t.accountId,
            name: t.name,
            expiresAt: t.expiresAt,
            token: t.token,
          });
          process.stdout.write("\nCopy the token now: it is never shown again.\n");
        },
      ),
    );
  tokens
    .command("list")
    .description("the API tokens of an account: name, prefix, last use, expiry (never the tokens)")
    .requiredOption("--account <id>", "account id")
    .action(
      action(
        async (api, o: Obj) =>
          (
            await api.request<{ items: Obj[] }>(
              "GET",
              `/api/v1/accounts/${encodeURIComponent(String(o.account))}/tokens`,
            )
          ).items,
        (rows: Obj[]) =>
          printTable(rows, {
            id: "ID",
            name: "NAME",
            prefix: "PREFIX",
            lastUsedAt: "LAST USED",
            expiresAt: "EXPIRES",
            revokedAt: "REVOKED",
          }),
      ),
    );
  tokens
    .command("revoke <tokenId>")
    .description("revoke an API token: it stops working at once")
    .requiredOption("--account <id>", "account id")
    .action(
      action(
        (api, tokenId: string, o: Obj) =>
          api.request(
            "POST",
            `/api/v1/accounts/${encodeURIComponent(String(o.account))}/tokens/${encodeURIComponent(tokenId)}/revoke`,
          ),
        printObject,
      ),
    );

  const users = program.command("users").description("people who sign in to the web UI");
  users
    .command("create")
    .description("create a user of an account; the generated password is shown once")
    .requiredOption("--account <id>", "account id")
    .requiredOption("--login <login>", "the login, e.g. an email address")
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", `/api/v1/accounts/${encodeURIComponent(String(o.account))}/users`, {
            login: o.login,
          }),
        (u: Obj) => {
          printObject({ id: u.id, accountId: u.accountId, login: u.login, password: u.password });
          process.stdout.write("\nCopy the password now: it is never shown again.\n");
        },
      ),
    );
  users
    .command("list")
    .description("the users of an account")
    .requiredOption("--account <id>", "account id")
    .action(
      action(
        async (api, o: Obj) =>
          (
            await api.request<{ items: Obj[] }>(
              "GET",
              `/api/v1/accounts/${encodeURIComponent(String(o.account))}/users`,
            )
          ).items,
        (rows: Obj[]) =>
          printTable(rows, {
            id: "ID",
            login: "LOGIN",
            role: "ROLE",
            createdAt: "CREATED",
            disabledAt: "DISABLED",
          }),
      ),
    );
  for (const [verb, what] of [
    ["disable", "disable a user: no more sign-ins, their sessions end and their API tokens are revoked"],
    ["enable", "enable a disabled user again"],
  ] as const) {
    users
      .command(`${verb} <userId>`)
      .description(what)
      .requiredOption("--account <id>", "account id")
      .action(
        action(
          (api, userId: string, o: Obj) =>
            api.request(
              "POST",
              `/api/v1/accounts/${encodeURIComponent(String(o.account))}/users/${encodeURIComponent(userId)}/${verb}`,
            ),
          printObject,
        ),
      );
  }

  // --- credentials ---
  const credentials = program
    .command("credentials")
    .description("logins for SFTP/FTP: passwords and public keys");
  credentials
    .command("create")
    .description("create a credential (a generated password is shown once)")
    .requiredOption("--name <name>", "describe its use case")
    .addOption(
      choice("--kind <kind>", "password or public_key", ["password", "public_key"]).makeOptionMandatory(),
    )
    .option("--public-key <key>", "the public key text (kind public_key)")
    .option("--public-key-file <file>", "file holding the public key, e.g. ~/.ssh/id_ed25519.pub", fileArg)
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", "/api/v1/credentials", {
            name: o.name,
            kind: o.kind,
            ...((o.publicKeyFile ?? o.publicKey) !== undefined
              ? { publicKey: o.publicKeyFile ?? o.publicKey }
              : {}),
          }),
        secretNotice,
      ),
    );
  credentials
    .command("list")
    .description("list credentials (never shows a secret)")
    .addOption(choice("--kind <kind>", "only this kind", ["password", "public_key"]))
    .action(
      action(
        (api, o: Obj) => allPages(api, "/api/v1/credentials", { kind: o.kind as string | undefined }),
        (rows: Obj[]) =>
          printTable(
            rows.map((r) => ({ ...r, usedBy: (r.usedBy as Obj[]).length })),
            {
              id: "ID",
              name: "NAME",
              kind: "KIND",
              username: "USERNAME",
              fingerprint: "FINGERPRINT",
              usedBy: "CONNECTIONS",
            },
          ),
      ),
    );
  credentials
    .command("show <id>")
    .description("one credential")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/credentials/${encodeURIComponent(id)}`),
        printObject,
      ),
    );
  credentials
    .command("rename <id> <name>")
    .description("rename a credential")
    .action(
      action(
        (api, id: string, name: string) =>
          api.request("PATCH", `/api/v1/credentials/${encodeURIComponent(id)}`, { name }),
        printObject,
      ),
    );
  credentials
    .command("set-max-sessions <id> <n>")
    .description(
      'how many SFTP/FTP sessions this login may have at once (1-256), or "default" for the server\'s',
    )
    .action(
      action((api, id: string, n: string) => {
        if (n !== "default" && !/^[1-9]\d*$/.test(n))
          throw new Error('<n> must be a whole number 1-256, or "default"');
        return api.request("PATCH", `/api/v1/credentials/${encodeURIComponent(id)}`, {
          maxSessions: n === "default" ? null : Number(n),
        });
      }, printObject),
    );
  credentials
    .command("reset <id>")
    .description("generate a new password (shown once); the old one stops working")
    .action(
      action(
        (api, id: string) =>
          api.request("POST", `/api/v1/credentials/${encodeURIComponent(id)}/reset-password`),
        secretNotice,
      ),
    );
  credentials
    .command("rotate-key <id>")
    .description("replace the public key of a public_key credential")
    .option("--public-key <key>", "the new public key text")
    .option("--public-key-file <file>", "file holding the new public key", fileArg)
    .action(
      action((api, id: string, o: Obj) => {
        const publicKey = o.publicKeyFile ?? o.publicKey;
        if (publicKey === undefined) throw new InvalidArgumentError("give --public-key-file or --public-key");
        return api.request("PATCH", `/api/v1/credentials/${encodeURIComponent(id)}`, { publicKey });
      }, printObject),
    );

  // --- connections ---
  const connections = program.command("connections").description("connections: configured data feeds");
  connections
    .command("create")
    .description("create a connection (it can never be deleted, only disabled)")
    .requiredOption("--name <name>", "connection name")
    .addOption(choice("--direction <d>", "inbound or outbound", DIRECTIONS).makeOptionMandatory())
    .addOption(choice("--data-type <t>", "what the files hold", DATA_TYPES).makeOptionMandatory())
    .addOption(choice("--method <m>", "transport", METHODS).makeOptionMandatory())
    .addOption(choice("--methodology <m>", "who moves the files", METHODOLOGIES).makeOptionMandatory())
    .option("--credential <id>", "credential id (SFTP/FTP push to or pull from the platform)")
    .option("--details <json>", "method details as a JSON object", jsonArg)
    .option("--details-file <file>", "method details from a JSON file", (f) => jsonArg(fileArg(f)))
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", "/api/v1/connections", {
            name: o.name,
            direction: o.direction,
            dataType: o.dataType,
            method: o.method,
            methodology: o.methodology,
            ...(o.credential ? { credentialId: o.credential } : {}),
            ...((o.detailsFile ?? o.details) ? { details: o.detailsFile ?? o.details } : {}),
          }),
        printObject,
      ),
    );
  connections
    .command("list")
    .description("list connections, with filters")
    .addOption(choice("--direction <d>", "only this direction", DIRECTIONS))
    .addOption(choice("--data-type <t>", "only this data type", DATA_TYPES))
    .addOption(choice("--method <m>", "only this method", METHODS))
    .addOption(choice("--status <s>", "only this status", ["active", "disabled"]))
    .action(
      action(
        (api, o: Obj) =>
          allPages(api, "/api/v1/connections", {
            direction: o.direction as string | undefined,
            dataType: o.dataType as string | undefined,
            method: o.method as string | undefined,
            status: o.status as string | undefined,
          }),
        (rows: Obj[]) => printTable(rows, CONNECTION_COLUMNS),
      ),
    );
  connections
    .command("run <id>")
    .description("generate an outbound connection's file now (default period: yesterday, account time)")
    .option("--from <time>", "period start (ISO 8601)")
    .option("--to <time>", "period end, exclusive (ISO 8601)")
    .action(
      action(
        (api, id: string, o: Obj) =>
          api.request("POST", `/api/v1/connections/${encodeURIComponent(id)}/runs`, {
            from: o.from,
            to: o.to,
          }),
        printObject,
      ),
    );
  connections
    .command("pull <id>")
    .description("pull now from the third party's server (pull_from_third_party connections)")
    .action(
      action(
        (api, id: string) => api.request("POST", `/api/v1/connections/${encodeURIComponent(id)}/pulls`),
        printObject,
      ),
    );
  connections
    .command("pulls <id>")
    .description("a pull connection's pulls, newest first: files found and taken, errors in words")
    .action(
      action(
        async (api, id: string) =>
          (await api.request<{ items: Obj[] }>("GET", `/api/v1/connections/${encodeURIComponent(id)}/pulls`))
            .items,
        (rows: Obj[]) =>
          printTable(rows, {
            createdAt: "WHEN",
            trigger: "TRIGGER",
            status: "STATUS",
            filesFound: "FOUND",
            filesTaken: "TAKEN",
            filesWaiting: "GROWING",
            error: "ERROR",
          }),
      ),
    );
  connections
    .command("accept-host-key <id>")
    .description("trust the host key the server presented at the latest pull (after a host key mismatch)")
    .action(
      action(
        (api, id: string) =>
          api.request("POST", `/api/v1/connections/${encodeURIComponent(id)}/accept-host-key`),
        printObject,
      ),
    );
  program
    .command("ssh-key")
    .description("the public key Ferry logs in with to your servers: add it to their authorized_keys")
    .action(action((api) => api.request("GET", "/api/v1/ssh-key"), printObject));
  connections
    .command("show <id>")
    .description("one connection")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/connections/${encodeURIComponent(id)}`),
        printObject,
      ),
    );
  connections
    .command("update <id>")
    .description("edit name, credential or details (details are merged; null removes a setting)")
    .option("--name <name>", "new name")
    .option("--credential <id>", "credential id")
    .option("--details <json>", "details to change, as a JSON object", jsonArg)
    .option("--retention-days <days>", 'days its files are kept ("default": the account\'s setting)')
    .option("--result-retention-days <days>", "inbound: days its result files are kept")
    .action(
      action(
        (api, id: string, o: Obj) =>
          api.request("PATCH", `/api/v1/connections/${encodeURIComponent(id)}`, {
            ...(o.name !== undefined ? { name: o.name } : {}),
            ...(o.credential !== undefined ? { credentialId: o.credential } : {}),
            ...(o.details !== undefined ? { details: o.details } : {}),
            ...(o.retentionDays !== undefined
              ? { retentionDays: daysArg("--retention-days", o.retentionDays) }
              : {}),
            ...(o.resultRetentionDays !== undefined
              ? { resultRetentionDays: daysArg("--result-retention-days", o.resultRetentionDays) }
              : {}),
          }),
        printObject,
      ),
    );
  for (const verb of ["disable", "enable"] as const) {
    connections
      .command(`${verb} <id>`)
      .description(
        verb === "disable" ? "disable a connection (it stays visible)" : "enable a disabled connection",
      )
      .action(
        action(
          (api, id: string) => api.request("POST", `/api/v1/connections/${encodeURIComponent(id)}/${verb}`),
          printObject,
        ),
      );
  }
}
