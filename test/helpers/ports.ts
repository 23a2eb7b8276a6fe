/**
 * Free TCP ports on loopback, for servers started by tests. They are taken from 10000–19999, below the
 * ephemeral range (32768–60999 here): a port the kernel hands out as "free" from that range can be taken by
 * any outgoing connection (database clients, fetch, ssh) between the check and the server's listen, which
 * made start-ups fail with EADDRINUSE under load. (20000–31999 is for FTP passive ranges, see ferry.ts and
 * test/interop; scripts/s3-ceph-rgw.sh takes its ports from 32000 up to the ephemeral range.)
 */
import net from "node:net";

const tryPort = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

const given = new Set<number>();

export async function freePort(): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const port = 10_000 + Math.floor(Math.random() * 10_000);
    if (given.has(port)) continue;
    if (await tryPort(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error("no free port in 10000-19999");
}

/** Waits until a server process listens on a loopback port; throws with its stderr if it exits or never does. */
export async function waitForListen(
  port: number,
  child: { exitCode: number | null },
  stderr: () => string,
  what: string,
): Promise<void> {
  for (let i = 0; i <= 100; i++) {
    if (child.exitCode !== null) throw new Error(`${what} did not start: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1");
      s.on("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on ${port}: ${stderr()}`);
}
