/** Runs OpenSSH's own clients (sftp, scp) against a test server, with a key or a password (via askpass). */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";

export interface SshLogin {
  port: number;
  username: string;
  /** Private key file, for key logins. */
  keyFile?: string;
  /** Password, for password logins (given to ssh through SSH_ASKPASS). */
  password?: string;
  /** A directory for the askpass helper. */
  workDir: string;
}

export interface ClientResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options every OpenSSH client run here needs: the port, no host-key bookkeeping for throwaway servers, quiet. */
export function sshClientOptions(port: number): string[] {
  return [
    "-P",
    String(port),
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
  ];
}

export async function sshArgs(login: SshLogin): Promise<{ args: string[]; env: Record<string, string> }> {
  const args = [...sshClientOptions(login.port), "-o", "ConnectTimeout=10"];
  const env: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: login.workDir };
  if (login.keyFile) {
    args.push("-i", login.keyFile, "-o", "PasswordAuthentication=no", "-o", "IdentitiesOnly=yes");
  } else {
    // sftp -b turns on BatchMode, which forbids password prompts; the first value of an option wins in ssh,
    // so BatchMode=no given first keeps askpass usable.
    const askpass = path.join(login.workDir, "askpass.sh");
    await writeFile(askpass, '#!/bin/sh\nprintf "%s\\n" "$FERRY_TEST_PASSWORD"\n');
    await chmod(askpass, 0o700);
    args.unshift("-o", "BatchMode=no");
    args.push("-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1");
    Object.assign(env, {
      SSH_ASKPASS: askpass,
      SSH_ASKPASS_REQUIRE: "force",
      FERRY_TEST_PASSWORD: login.password ?? "",
    });
  }
  return { args, env };
}

/** Runs `sftp -b -` with the given batch commands. */
export async function sftpBatch(
  login: SshLogin,
  commands: string[],
  extra: string[] = [],
): Promise<ClientResult> {
  const { args, env } = await sshArgs(login);
  return new Promise((resolve) => {
    const child = execFile(
      "sftp",
      [...args, ...extra, "-b", "-", `${login.username}@127.0.0.1`],
      { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, // listings of big folders
      (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(`${commands.join("\n")}\n`);
  });
}

/** Starts `sftp -b -` without waiting, to kill it mid-transfer. */
export async function sftpSpawn(
  login: SshLogin,
  commands: string[],
  extra: string[] = [],
): Promise<ChildProcess> {
  const { args, env } = await sshArgs(login);
  const child = spawn("sftp", [...args, ...extra, "-b", "-", `${login.username}@127.0.0.1`], { env });
  child.stdin.end(`${commands.join("\n")}\n`);
  return child;
}

/** Runs scp (which speaks SFTP in OpenSSH ≥ 9) with `remote:` paths as given. */
export async function scp(login: SshLogin, from: string, to: string): Promise<ClientResult> {
  const { args, env } = await sshArgs(login);
  const remote = (p: string) => p.replace(/^remote:/, `${login.username}@127.0.0.1:`);
  return new Promise((resolve) => {
    execFile("scp", [...args, remote(from), remote(to)], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err.code as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}
