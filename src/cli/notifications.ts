/** CLI commands for email notifications: subscribe a user to events, at once or in a daily digest. */
import type { Command } from "commander";
import { action, choice, type Obj } from "./helpers.js";
import { printObject, printTable } from "./output.js";

export function registerNotificationCommands(program: Command): void {
  const notifications = program
    .command("notifications")
    .description("email a user what happens to the account's files, at once or in a daily digest");
  notifications
    .command("subscribe")
    .description("subscribe a user (default: every event of every connection, at once)")
    .option("--user <id>", "the user (default: the signed-in user; admins may name another)")
    .option("--email <address>", "where to send (default: the user's login, when it is an address)")
    .option("--connection <id>", "only this connection's events")
    .option("--events <list>", "comma-separated event types, e.g. file.failed,file.missing")
    .addOption(
      choice("--mode <mode>", "immediate or digest (08:00, account time zone)", ["immediate", "digest"]),
    )
    .action(
      action(
        (api, o: Obj) =>
          api.request("POST", "/api/v1/notifications", {
            ...(o.user ? { userId: o.user } : {}),
            ...(o.email ? { email: o.email } : {}),
            ...(o.connection ? { connectionId: o.connection } : {}),
            ...(o.events
              ? {
                  events: String(o.events)
                    .split(",")
                    .map((e) => e.trim())
                    .filter(Boolean),
                }
              : {}),
            ...(o.mode ? { mode: o.mode } : {}),
          }),
        printObject,
      ),
    );
  notifications
    .command("list")
    .description("subscriptions: yours (admins: the account's)")
    .action(
      action(
        (api) => api.request("GET", "/api/v1/notifications"),
        (body: { items: Obj[] }) =>
          printTable(
            body.items.map((s) => ({
              ...s,
              connectionId: s.connectionId ?? "(all)",
              events: (s.events as string[]).join(",") || "(every event)",
            })),
            { id: "ID", email: "EMAIL", connectionId: "CONNECTION", events: "EVENTS", mode: "MODE" },
          ),
      ),
    );
  notifications
    .command("unsubscribe <id>")
    .description("remove a subscription")
    .action(
      action(async (api, id: string) => {
        await api.request("DELETE", `/api/v1/notifications/${encodeURIComponent(id)}`);
        return { removed: id };
      }, printObject),
    );
}
