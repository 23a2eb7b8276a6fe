/** A password login over SSH with ssh2's client from a chosen loopback address: "ok", or why it failed. */
import { Client } from "ssh2";

export function ssh2Login(login: {
  port: number;
  username: string;
  password: string;
  from: string;
}): Promise<string> {
  return new Promise((resolve) => {
    const client = new Client();
    client.once("ready", () => {
      client.end();
      resolve("ok");
    });
    client.once("error", (err) => resolve(err.message));
    client.connect({
      host: "127.0.0.1",
      port: login.port,
      localAddress: login.from,
      username: login.username,
      password: login.password,
      readyTimeout: 20_000,
    });
  });
}
