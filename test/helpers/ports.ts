/**
 * Free TCP ports on loopback, for servers started by tests. They are taken from 10000–19999, below the
 * ephemeral range (32768–60999 here): a port the kernel hands out as "free" from that range can be taken by
 * any outgoing connection (database clients, fetch, ssh) between the check and the server's listen, which
 * made start-ups fail with EADDRINUSE under load. (20000–29999 is for FTP passive ranges, see ferry.ts.)
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
