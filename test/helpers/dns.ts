/**
 * A private DNS server (dnsmasq, Debian's dnsmasq-base) on a loopback port, serving TXT records for made-up
 * domains under `.test` (SPF, DKIM keys, DMARC policies) and answering "no such name" for any other name
 * there. Ferry is pointed at it with FERRY_DNS_SERVERS.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort, waitForListen } from "./ports.js";

export interface PrivateDns {
  /** "127.0.0.1:port", for FERRY_DNS_SERVERS. */
  server: string;
  stop(): void;
}

/** Starts dnsmasq with `txt` records (name → one value; dnsmasq splits long ones into 255-byte strings). */
export async function startDns(txt: Record<string, string>): Promise<PrivateDns> {
  const port = await freePort();
  const args = [
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    `--port=${port}`,
    "--listen-address=127.0.0.1",
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--pid-file=",
    "--log-facility=/dev/null",
    // Authoritative for .test: unknown names are NXDOMAIN (not "refused", which checks read as a DNS failure).
    "--local=/test/",
    ...(process.getuid?.() === 0 ? ["--user=root"] : []),
    // No shell: the value goes as is (quotes would be kept); a comma would start another string.
    ...Object.entries(txt).map(([name, value]) => {
      if (value.includes(",")) throw new Error(`TXT record of ${name} has a comma: not supported here`);
      return `--txt-record=${name},${value}`;
    }),
  ];
  let stderr = "";
  const child: ChildProcess = spawn("/usr/sbin/dnsmasq", args, { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  await waitForListen(port, child, () => stderr, "dnsmasq");
  return { server: `127.0.0.1:${port}`, stop: () => child.kill() };
}
