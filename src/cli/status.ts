/** `ferry status`: whether the Ferry at FERRY_URL is ready (its /readyz), for people and for scripts. */
import type { Command } from "commander";
import { messageOf } from "../thrown.js";
import { printJson, printTable } from "./output.js";

interface Readiness {
  status: "ready" | "not ready";
  checks: { name: string; ok: boolean; detail: string }[];
}

export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .description(
      "whether the Ferry at FERRY_URL is ready: database, migrations, file store, job queue (no token needed; exit status 0 when ready, 1 when not, 6 when unreachable)",
    )
    .action(async (_options: unknown, cmd: Command) => {
      const { url, json } = cmd.optsWithGlobals<{ url: string; json?: boolean }>();
      let answer: Readiness;
      try {
        const res = await fetch(new URL("/readyz", url), { signal: AbortSignal.timeout(15_000) });
        answer = (await res.json()) as Readiness;
      } catch (err) {
        if (json) printJson({ url, status: "unreachable", error: messageOf(err) });
        else
          process.stderr.write(
            `Ferry at ${url} cannot be reached (${messageOf(err)}); is it running? Set FERRY_URL or --url\n`,
          );
        // As every command when Ferry cannot be reached (see ferry --help).
        process.exitCode = 6;
        return;
      }
      if (json) printJson({ url, ...answer });
      else {
        printTable(
          answer.checks.map((c) => ({ ...c, ok: c.ok ? "ok" : "FAILED" })),
          { name: "CHECK", ok: "STATE", detail: "DETAIL" },
        );
        process.stdout.write(`\nFerry at ${url} is ${answer.status}.\n`);
      }
      process.exitCode = answer.status === "ready" ? 0 : 1;
    });
}
