/** The CLI commands that act through the REST API: accounts, tokens, credentials, connections. */
import { createWriteStream, readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { DATA_TYPES, DIRECTIONS, METHODOLOGIES, METHODS } from "../domain/connection-rules.js";
import { type ApiClient, apiClient } from "./client.js";
import { printJson, printObject, printTable } from "./output.js";

type Obj = Record<string, unknown>;
type Page = { items: Obj[]; nextCursor: string | null };

interface Globals {
  url: string;
  token?: string;
  json?: boolean;
}

function client(cmd: Command): { api: ApiClient; json: boolean } {
  const g = cmd.optsWithGlobals<Globals>();
  // The token's default comes from the environment here, not as a commander default, so --help never shows it.
  return { api: apiClient(g.url, g.token ?? process.env.FERRY_TOKEN), json: Boolean(g.json) };
}

/** Runs an API action and prints its result as JSON or through `human`. */
function action<A extends unknown[]>(
  run: (api: ApiClient, ...args: A) => Promise<unknown>,
  human: (result: never) => void,
) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const { api, json } = client(cmd);
    const result = await run(api, ...(args.slice(0, -1) as A));
    if (json) printJson(result);
    else human(result as never);
  };
}

async function allPages(
  api: ApiClient,
  path: string,
  query: Record<string, string | undefined>,
): Promise<Obj[]> {
  const items: Obj[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ limit: "200" });
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    if (cursor) params.set("cursor", cursor);
    const page: Page = await api.request<Page>("GET", `${path}?${params}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

function jsonArg(value: string): Obj {
  try {
    const parsed = JSON.parse(value);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed;
  } catch (err) {
    throw new InvalidArgumentError(`must be a JSON object (${(err as Error).message})`);
  }
}

function fileArg(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

function choice(flags: string, description: string, values: readonly string[]) {
  return new Option(flags, description).choices(values);
}

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
        (rows: Obj[]) => printTable(rows, { id: "ID", name: "NAME", type: "TYPE", timeZone: "TIME ZONE" }),
      ),
    );

  const tokens = program.command("tokens").description("API tokens");
  tokens
    .command("create")
    .description("create an API token for an account; it is shown once")
    .requiredOption("--account <id>", "account id")
    .option("--name <name>", "what the token is for")
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", `/api/v1/accounts/${encodeURIComponent(String(o.account))}/tokens`, {
            ...(o.name ? { name: o.name } : {}),
          }),
        (t: Obj) => {
          printObject({ id: t.id, accountId: t.accountId, name: t.name, token: t.token });
          process.stdout.write("\nCopy the token now: it is never shown again.\n");
        },
      ),
    );

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
    .action(
      action(
        (api, id: string, o: Obj) =>
          api.request("PATCH", `/api/v1/connections/${encodeURIComponent(id)}`, {
            ...(o.name !== undefined ? { name: o.name } : {}),
            ...(o.credential !== undefined ? { credentialId: o.credential } : {}),
            ...(o.details !== undefined ? { details: o.details } : {}),
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

  // --- transfers ---
  const transfers = program
    .command("transfers")
    .description("files through connections: history and downloads");
  transfers
    .command("list")
    .description("a connection's transfers, oldest first")
    .requiredOption("--connection <id>", "connection id")
    .option("--status <status>", "only this status (received, duplicate, processed, failed, downloaded, ...)")
    .option("--since <time>", "created at or after (ISO 8601)")
    .option("--until <time>", "created before (ISO 8601)")
    .action(
      action(
        (api, o: Obj) =>
          allPages(api, `/api/v1/connections/${encodeURIComponent(String(o.connection))}/transfers`, {
            status: o.status as string | undefined,
            since: o.since as string | undefined,
            until: o.until as string | undefined,
          }),
        (rows: Obj[]) =>
          printTable(rows, {
            id: "ID",
            createdAt: "TIME",
            fileName: "FILE",
            size: "SIZE",
            status: "STATUS",
            protocol: "VIA",
            username: "USER",
          }),
      ),
    );
  transfers
    .command("show <id>")
    .description("one transfer: size, sha256, status, times, who, how")
    .action(
      action(
        (api, id: string) => api.request("GET", `/api/v1/transfers/${encodeURIComponent(id)}`),
        printObject,
      ),
    );
  transfers
    .command("download <id>")
    .description("download a transfer's original file (or --result: its result file)")
    .option("-o, --output <file>", "where to write it (default: its own name; - for stdout)")
    .option("--result", "the result file instead of the original")
    .action(async (id: string, o: Obj, cmd: Command) => {
      const { api } = client(cmd);
      const response = await api.download(
        `/api/v1/transfers/${encodeURIComponent(id)}/${o.result ? "result" : "content"}`,
      );
      const disposition = response.headers.get("content-disposition") ?? "";
      const name = /filename\*=UTF-8''([^;]+)/.exec(disposition)?.[1];
      const output = (o.output as string | undefined) ?? (name ? decodeURIComponent(name) : id);
      const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream);
      if (output === "-") await pipeline(body, process.stdout);
      else {
        // "wx": never overwrite an existing file by surprise.
        await pipeline(body, createWriteStream(output, { flags: "wx" }));
        process.stderr.write(`saved ${output}\n`);
      }
    });
}
