import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { egressPolicy } from "./egress.js";
import { webhookSender } from "./webhook-sender.js";

let server: http.Server;
let url: string;
const seen: { headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      seen.push({ headers: req.headers, body });
      if (req.url === "/slow") return; // never answers
      if (req.url === "/moved") {
        res.writeHead(302, { location: "http://169.254.169.254/" });
        return void res.end();
      }
      res.statusCode = 202;
      res.end("x".repeat(1024 * 1024));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("webhookSender", () => {
  it("posts the body with its headers and gives the status code, reading at most 64 KiB of the answer", async () => {
    const send = webhookSender(egressPolicy("127.0.0.1"));
    expect(await send.post(`${url}/hook`, { "webhook-id": "msg_1" }, '{"a":1}')).toBe(202);
    expect(seen.at(-1)).toMatchObject({ body: '{"a":1}', headers: { "webhook-id": "msg_1" } });
  });

  it("refuses private addresses unless allowed, before sending anything", async () => {
    const before = seen.length;
    await expect(webhookSender(egressPolicy("false")).post(`${url}/hook`, {}, "{}")).rejects.toThrow(
      /local or private address/,
    );
    await expect(
      webhookSender(egressPolicy("false")).post("http://localhost:9/hook", {}, "{}"),
    ).rejects.toThrow(/local or private address/);
    expect(seen.length).toBe(before);
  });

  it("follows no redirect and gives up on an endpoint that does not answer", async () => {
    const send = webhookSender(egressPolicy("127.0.0.1"), 300);
    expect(await send.post(`${url}/moved`, {}, "{}")).toBe(302);
    await expect(send.post(`${url}/slow`, {}, "{}")).rejects.toThrow(/No answer within 0.3 s/);
  });
});
