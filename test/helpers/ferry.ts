/** Runs the built `ferry` command as a user would: `serve` as a child process, other commands to completion. */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.js";

export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

function checkBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
}

/** The environment of a child: PATH and HOME only, plus what the test gives, so no outer setting leaks in. */
function childEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env };
}

export interface RunningFerry {
  url: string;
  pid: number;
  /** Everything printed so far on stdout. */
  output(): string;
  /** Milliseconds from spawn to the "ferry ready" log line. */
  readyMs: number;
  /** Stops it with SIGTERM (graceful), or the given signal (SIGKILL: a crash); resolves with its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The node flags on the first line of the built CLI (`#!/usr/bin/env -S node …`). */
function shebangFlags(cli = CLI): string[] {
  const first = readFileSync(cli, "utf8").split("\n", 1)[0]!;
  return first.split(" ").filter((f) => f.startsWith("--"));
}

/**
 * Starts `ferry serve` (the checkout's build, or the `cli` given: an installed package's) and resolves once it
 * logs "ferry ready"; rejects with its output if it exits first.
 */
export async function startServe(
  env: Record<string, string>,
  timeoutMs = 60_000,
  cli = CLI,
): Promise<RunningFerry> {
  if (cli === CLI) checkBuilt();
  const started = Date.now();
  // Every server gets free ports unless the test chose them, so test files can run in parallel.
  // A block of passive FTP ports below the ephemeral range (outgoing connections never take them); Ferry
  // skips ports in use, and consecutive sessions need more than one so a closing data listener is not reused.
  const passive = 20_000 + Math.floor(Math.random() * 500) * 20;
  const ports = {
    FERRY_HTTP_PORT: String(await freePort()),
    FERRY_SFTP_PORT: String(await freePort()),
    FERRY_FTP_PORT: String(await freePort()),
    FERRY_SMTP_PORT: String(await freePort()),
    FERRY_FTP_PASV_PORTS: `${passive}-${passive + 19}`,
  };
  env = { ...ports, ...env };
  // The V8 flags of the `ferry` command's shebang (see README: memory), and any a benchmark adds for a look
  // inside (FERRY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof", "--trace-gc"…).
  const nodeArgs = [...shebangFlags(cli), ...(process.env.FERRY_NODE_ARGS?.split(" ").filter(Boolean) ?? [])];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, cli, "serve"], {
    env: childEnv({ FERRY_BIND: "127.0.0.1", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => {
    stdout += d;
  });
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  // Ready is what a load balancer sees: /healthz answers (HTTP starts after every other server).
  let gone: number | null | undefined;
  void exited.then((code) => {
    gone = code;
  });
  const url = `http://${env.FERRY_BIND ?? "127.0.0.1"}:${env.FERRY_HTTP_PORT}`;
  for (;;) {
    if (gone !== undefined)
      throw new Error(`ferry serve exited with ${gone} before ready:\n${stdout}\n${stderr}`);
    if (Date.now() - started > timeoutMs) {
      child.kill("SIGKILL");
      throw new Error(`ferry serve not ready after ${timeoutMs} ms:\n${stdout}\n${stderr}`);
    }
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    // The ready line comes after the first-start block; stdout may trail the HTTP answer.
    if (ok && stdout.includes("Ferry is ready:")) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const readyMs = Date.now() - started;
  return {
    url,
    pid: child.pid!,
    output: () => stdout,
    readyMs,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json). */
  json(): any;
}

/** Runs `ferry <args>` to completion. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  options: { cwd?: string; input?: string } = {},
): Promise<CliResult> {
  checkBuilt();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: childEnv(env), timeout: 60_000, cwd: options.cwd },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, json: () => JSON.parse(stdout) });
      },
    );
    // Standard input is what the test gives, and ends: a command reading it never waits for more.
    child.stdin?.end(options.input ?? "");
  });
}

/** Calls a running Ferry's API as a client would (JSON in and out); throws on any answer that is not 2xx. */
export async function apiCall(baseUrl: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as any;
}

/**
 * A new partner account with a password login and an inbound clicks connection per method, pushed to the
 * platform: what the protocol tests log in with. Returns the login and each method's connection.
 */
export async function clicksLogin<M extends "sftp" | "ftp">(
  url: string,
  adminToken: string,
  methods: readonly M[],
): Promise<{
  accountId: string;
  token: string;
  login: { username: string; password: string };
  connections: Record<M, { id: string; folder: string }>;
}> {
  const account = await apiCall(url, adminToken, "POST", "/api/v1/accounts", {
    name: `Partner ${Date.now()}`,
    type: "partner",
  });
  const token = (await apiCall(url, adminToken, "POST", `/api/v1/accounts/${account.id}/tokens`)).token;
  const cred = await apiCall(url, token, "POST", "/api/v1/credentials", { name: "login", kind: "password" });
  const connections = {} as Record<M, { id: string; folder: string }>;
  for (const method of methods) {
    connections[method] = await apiCall(url, token, "POST", "/api/v1/connections", {
      name: `Clicks ${method}`,
      direction: "inbound",
      dataType: "clicks",
      method,
      methodology: "push_to_platform",
      credentialId: cred.id,
    });
  }
  return {
    accountId: account.id,
    token,
    login: { username: cred.username, password: cred.password },
    connections,
  };
}
