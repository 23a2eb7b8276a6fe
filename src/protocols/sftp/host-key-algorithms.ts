/**
 * No SHA-1 host key signatures: ssh2 adds "ssh-rsa" (RSA with SHA-1, RFC 8332) to the host key algorithms it
 * offers whenever an RSA host key is loaded, whatever the server's list says. Each connection's offer is
 * replaced by one without it, before the server's KEXINIT goes out (ssh2 sends it right after the client's
 * banner, which is when the "connection" event runs). Old clients that know only ssh-rsa for RSA (JSch 0.1.5x)
 * use the ECDSA host key instead.
 */
import type { Connection } from "ssh2";

interface KexList {
  array: string[];
}
interface Offer {
  lists: {
    kex: KexList;
    serverHostKey: KexList;
    cs: Record<"cipher" | "mac" | "compress" | "lang", KexList>;
    sc: Record<"cipher" | "mac" | "compress" | "lang", KexList>;
  };
}

const withoutSha1 = new WeakMap<Offer, Offer>();

function rebuilt(offer: Offer): Offer {
  let done = withoutSha1.get(offer);
  if (!done) {
    const KexInit = Object.getPrototypeOf(offer).constructor as new (algorithms: object) => Offer;
    const side = (s: Offer["lists"]["cs"]) => ({
      cipher: s.cipher.array,
      mac: s.mac.array,
      compress: s.compress.array,
      lang: s.lang.array,
    });
    const l = offer.lists;
    done = new KexInit({
      kex: l.kex.array,
      serverHostKey: l.serverHostKey.array.filter((a) => a !== "ssh-rsa"),
      cs: side(l.cs),
      sc: side(l.sc),
    });
    withoutSha1.set(offer, done);
  }
  return done;
}

/** Call in the server's "connection" handler: this connection offers no ssh-rsa host key signature. */
export function offerNoSha1HostKey(client: Connection): void {
  const protocol = (client as unknown as { _protocol?: { _offer?: Offer } })._protocol;
  if (protocol?._offer?.lists?.serverHostKey) protocol._offer = rebuilt(protocol._offer);
}
