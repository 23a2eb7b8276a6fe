/** curl and lftp against a Ferry FTPS server, as the end-to-end tests run them (HOME in the test's folder). */
import { execFile } from "node:child_process";

export interface ClientRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FtpLogin {
  username: string;
  password: string;
}

/** Runs a client with PATH and HOME only; never rejects (the exit code says how it went). */
export function runClient(cmd: string, args: string[], home: string): Promise<ClientRun> {
  return new Promise((resolve) =>
    execFile(
      cmd,
      args,
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? "", HOME: home } },
      (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** curl over explicit FTPS (TLS required, the test's self-signed certificate accepted). */
export const curlFtps = (home: string, who: FtpLogin, args: string[]) =>
  runClient("curl", ["-sS", "--ssl-reqd", "-k", "--user", `${who.username}:${who.password}`, ...args], home);

/** An lftp script over FTPS against 127.0.0.1:port, then bye. */
export const lftpFtps = (home: string, port: number, who: FtpLogin, script: string) =>
  runClient(
    "lftp",
    [
      "-u",
      `${who.username},${who.password}`,
      "-p",
      String(port),
      "-e",
      `set ftp:ssl-force true; set ssl:verify-certificate no; set net:max-retries 1; set net:timeout 10; ${script}; bye`,
      "127.0.0.1",
    ],
    home,
  );
