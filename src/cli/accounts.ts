/** CLI commands for accounts (quota, retention), their API tokens and users, through the REST API. */
import type { Command } from "commander";
import type { ApiClient } from "./client.js";
import { action, choice, daysArg, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

/** Roles inside an account: its admins manage users, API tokens and settings. */
const ROLES = ["admin", "member"];

/** The API path of the account given with --account. */
const accountPath = (o: Obj) => `/api/v1/accounts/${encodeURIComponent(String(o.account))}`;

/** The items of one of the account's lists (tokens, users). */
async function accountItems(api: ApiClient, o: Obj, list: "tokens" | "users"): Promise<Obj[]> {
  return (await api.request<{ items: Obj[] }>("GET", `${accountPath(o)}/${list}`)).items;
}

export function registerAccountCommands(program: Command): void {
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
        return api.request("PATCH", `${accountPath(o)}`, {
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
          api.request("PATCH", `${accountPath(o)}`, {
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
    .addOption(choice("--role <role>", "its rights in the account (default: yours; never more)", ROLES))
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", `${accountPath(o)}/tokens`, {
            ...(o.name ? { name: o.name } : {}),
            ...(o.role ? { accountRole: o.role } : {}),
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
            accountRole: t.accountRole,
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
        (api, o: Obj) => accountItems(api, o, "tokens"),
        (rows: Obj[]) =>
          printTable(rows, {
            id: "ID",
            name: "NAME",
            prefix: "PREFIX",
            accountRole: "ROLE",
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
          api.request("POST", `${accountPath(o)}/tokens/${encodeURIComponent(tokenId)}/revoke`),
        printObject,
      ),
    );

  const users = program.command("users").description("people who sign in to the web UI");
  users
    .command("create")
    .description("create a user of an account; the generated password is shown once")
    .requiredOption("--account <id>", "account id")
    .requiredOption("--login <login>", "the login, e.g. an email address")
    .addOption(
      choice(
        "--role <role>",
        "their role in the account (default: admin for its first user, member after)",
        ROLES,
      ),
    )
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", `${accountPath(o)}/users`, {
            login: o.login,
            ...(o.role ? { accountRole: o.role } : {}),
          }),
        (u: Obj) => {
          printObject({
            id: u.id,
            accountId: u.accountId,
            login: u.login,
            accountRole: u.accountRole,
            password: u.password,
          });
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
        (api, o: Obj) => accountItems(api, o, "users"),
        (rows: Obj[]) =>
          printTable(rows, {
            id: "ID",
            login: "LOGIN",
            accountRole: "ROLE",
            createdAt: "CREATED",
            disabledAt: "DISABLED",
          }),
      ),
    );
  users
    .command("set-role <userId> <role>")
    .description(
      `make a user an admin of the account or a member (${ROLES.join(", ")}); one admin always remains`,
    )
    .requiredOption("--account <id>", "account id")
    .action(
      action(
        (api, userId: string, role: string, o: Obj) =>
          api.request("PUT", `${accountPath(o)}/users/${encodeURIComponent(userId)}/role`, {
            accountRole: role,
          }),
        printObject,
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
            api.request("POST", `${accountPath(o)}/users/${encodeURIComponent(userId)}/${verb}`),
          printObject,
        ),
      );
  }
}
