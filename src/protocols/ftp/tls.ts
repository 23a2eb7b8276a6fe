/**
 * The FTPS certificate (also SMTP's STARTTLS): the files FERRY_FTP_TLS_CERT/KEY name, or a self-signed one (EC
 * P-256, SHA-256, ten years, for FERRY_PUBLIC_HOST) that every node shares through the database (sealed), made
 * by the first node that needed it — from the one it had in <data>/ftp, if any — so clients that pinned it stay
 * valid on every node.
 */
import { readFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import selfsigned from "selfsigned";
import type { SharedSecret } from "../../domain/server-secrets.js";

export async function loadTlsCertificate(
  dataDir: string,
  publicHost: string,
  given: { cert?: string | undefined; key?: string | undefined },
  shared: SharedSecret,
): Promise<{ cert: Buffer; key: Buffer }> {
  if (given.cert && given.key) return { cert: await readFile(given.cert), key: await readFile(given.key) };
  const kept = async () => {
    const dir = path.join(dataDir, "ftp");
    const [cert, key] = await Promise.all([
      readFile(path.join(dir, "tls.crt"), "utf8"),
      readFile(path.join(dir, "tls.key"), "utf8"),
    ]);
    return { cert, key };
  };
  const pair = JSON.parse(
    await shared("ftps_certificate", async () =>
      JSON.stringify(await kept().catch(() => selfSigned(publicHost))),
    ),
  ) as { cert: string; key: string };
  return { cert: Buffer.from(pair.cert), key: Buffer.from(pair.key) };
}

async function selfSigned(publicHost: string): Promise<{ cert: string; key: string }> {
  const notBefore = new Date();
  const notAfter = new Date(notBefore);
  notAfter.setFullYear(notAfter.getFullYear() + 10);
  // subjectAltName types: 2 = DNS name, 7 = IP address.
  const altNames = [
    net.isIP(publicHost) ? { type: 7 as const, ip: publicHost } : { type: 2 as const, value: publicHost },
    { type: 2 as const, value: "localhost" },
    { type: 7 as const, ip: "127.0.0.1" },
  ];
  const pems = await selfsigned.generate([{ name: "commonName", value: publicHost }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [{ name: "subjectAltName", altNames }],
  });
  return { cert: pems.cert, key: pems.private };
}
