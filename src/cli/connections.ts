/** CLI commands for connections (create, list, update, run, pull, disable…), through the REST API. */
import { type Command, InvalidArgumentError } from "commander";
import { DATA_TYPES, DIRECTIONS, METHODOLOGIES, METHODS } from "../domain/connection-rules.js";
import { action, allPages, choice, daysArg, fileArg, jsonArg, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

const CONNECTION_COLUMNS = {
  id: "ID",
  name: "NAME",
  dataType: "TYPE",
  direction: "DIRECTION",
  method: "METHOD",
  methodology: "METHODOLOGY",
  status: "STATUS",
};

export function registerConnectionCommands(program: Command): void {
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
    .command("test [id]")
    .description(
      "test a server login before saving it, or a saved connection's (id): logs in, lists the folder, shows the host key; exit 1 when it fails",
    )
    .addOption(choice("--method <method>", "sftp, ftp or email (IMAP)", ["sftp", "ftp", "email"]))
    .option("--host <host>", "the server")
    .option("--port <port>", "its port (default 22, 21, 993)")
    .option("--username <login>", "the login on that server")
    .option("--password-env <name>", "read the password from this environment variable (never an argument)")
    .option("--key", "log in with the account's SSH key (SFTP)")
    .option("--folder <path>", "the folder to list (IMAP: the mailbox)")
    .action(
      action(async (api, id: string | undefined, o: Obj) => {
        const password = o.passwordEnv ? process.env[String(o.passwordEnv)] : undefined;
        if (o.passwordEnv && password === undefined)
          throw new InvalidArgumentError(`the environment variable ${String(o.passwordEnv)} is not set`);
        const result = await api.request<Obj>("POST", "/api/v1/connections/test", {
          ...(id ? { connectionId: id } : {}),
          ...(o.method ? { method: o.method } : {}),
          ...(o.host ? { host: o.host } : {}),
          ...(o.port ? { port: Number(o.port) } : {}),
          ...(o.username ? { username: o.username } : {}),
          ...(password !== undefined ? { password } : {}),
          ...(o.key ? { authMethod: "key" } : {}),
          ...(o.folder ? (o.method === "email" ? { mailbox: o.folder } : { folder: o.folder }) : {}),
        });
        // Exit 1 when the login failed, also with --json.
        if (!result.ok) process.exitCode = 1;
        return result;
      }, printObject),
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
