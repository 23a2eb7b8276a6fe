/**
 * The remote-server port's connector (pipeline/remote.ts): checks the address against the egress policy,
 * then logs in with the method's client. TLS still verifies (pins) against the name given, while the socket
 * goes to the address that was checked, so a name that resolves differently later cannot reach elsewhere.
 */
import net from "node:net";
import type { RemoteConnector } from "../../pipeline/remote.js";
import { type Egress, resolveAllowed } from "./egress.js";
import { connectFtp } from "./ftp-client.js";
import { connectImap } from "./imap-client.js";
import { connectSftp } from "./sftp-client.js";

export function remoteConnector(egress: Egress): RemoteConnector {
  return async (login) => {
    const address = await resolveAllowed(login.host, login.port, egress);
    const servername = net.isIP(login.host) ? undefined : login.host;
    const { port, username, password, hostKeyFingerprint } = login;
    if (login.method === "email") {
      return connectImap({
        host: address,
        servername,
        port,
        tls: login.tls,
        username,
        password,
        mailbox: login.mailbox,
        hostKeyFingerprint,
      });
    }
    if (login.method === "ftp") {
      return connectFtp({
        host: address,
        servername,
        port,
        username,
        password,
        security: login.security,
        hostKeyFingerprint,
      });
    }
    return connectSftp({
      host: address,
      port,
      username,
      ...(login.privateKey ? { privateKey: login.privateKey } : { password }),
      hostKeyFingerprint,
    });
  };
}
