/**
 * The FTPS certificate: the files FERRY_FTP_TLS_CERT/KEY name, or a self-signed one (EC P-256, SHA-256, ten
 * years, for FERRY_PUBLIC_HOST) generated once into <data>/ftp and kept, so clients that pinned it stay valid.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import selfsigned from "selfsigned";

export async function loadTlsCertificate(
  dataDir: string,
  publicHost: string,
  given: { cert?: string | undefined; key?: string | undefined },
): Promise<{ cert: Buffer; key: Buffer }> {
  if (given.cert && given.key) return { cert: await readFile(given.cert), key: await readFile(given.key) };
  const dir = path.join(dataDir, "ftp");
  const certFile = path.join(dir, "tls.crt");
  const keyFile = path.join(dir, "tls.key");
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
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
    await writeFile(keyFile, pems.private, { mode: 0o600 });
    await writeFile(certFile, pems.cert);
  }
  return { cert: await readFile(certFile), key: await readFile(keyFile) };
}
