/**
 * Whether a message really comes from its envelope sender, for connections that only take mail from listed
 * senders: anyone can write any address in MAIL FROM, so a listed address counts only when its domain vouches
 * for the message — SPF passes for the sending IP (RFC 7208), or a valid DKIM signature of that domain (or a
 * parent or child of it) covers the message (RFC 6376) — and DMARC does not fail for the From: header's domain
 * (RFC 9989). Checked with mailauth, over the DNS (FERRY_DNS_SERVERS, or the system's resolvers).
 */
import { promises as dns } from "node:dns";
import type { Readable } from "node:stream";
import { authenticate } from "mailauth";

export type SenderCheck = { ok: true; how: string } | { ok: false; temporary: boolean; reason: string };

export interface SenderAuthOptions {
  /** Name of this server in the checks' results (authserv-id). */
  mta: string;
  /** DNS servers ("ip" or "ip:port"); the system's when empty. */
  dnsServers: string[];
}

/** The resolver the checks use: the configured servers, a short timeout, two tries. */
export function senderResolver(servers: string[]) {
  const resolver = new dns.Resolver({ timeout: 3000, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return (domain: string, rrtype: string) =>
    resolver.resolve(domain, rrtype) as Promise<string[] | string[][]>;
}

/** DKIM's domain and the sender's are one organisation's: equal, or one a sub-domain of the other. */
const aligned = (a: string, b: string) => a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);

const TEMPORARY = new Set(["temperror", "temperr"]);

/** Reads the whole message (it must be given all of it) and says whether its sender is verified. */
export async function verifySender(
  message: Readable,
  envelope: { sender: string | null; ip: string; helo: string },
  options: SenderAuthOptions & { resolver: ReturnType<typeof senderResolver> },
): Promise<SenderCheck> {
  const result = await authenticate(message, {
    ...(envelope.sender ? { sender: envelope.sender } : {}),
    ip: envelope.ip,
    helo: envelope.helo,
    mta: options.mta,
    resolver: options.resolver,
    disableArc: true,
    disableBimi: true,
  });
  if (!envelope.sender) {
    return { ok: false, temporary: false, reason: "the message has no envelope sender (MAIL FROM:<>)" };
  }
  const domain = envelope.sender.slice(envelope.sender.lastIndexOf("@") + 1).toLowerCase();
  const spf = result.spf ? result.spf.status.result : "none";
  const spfPass = spf === "pass" && result.spf && result.spf.domain.toLowerCase() === domain;
  // An unsigned message has one result, "none", without a domain.
  const signatures = (result.dkim.results ?? []).filter((s) => s.status.result !== "none");
  const dkimPass = signatures.find(
    (s) => s.status.result === "pass" && s.signingDomain && aligned(s.signingDomain.toLowerCase(), domain),
  );
  const dmarc = result.dmarc ? result.dmarc.status.result : "none";
  if (spfPass || dkimPass) {
    // The envelope sender is genuine; the From: header the recipient reads must not claim another domain.
    if (dmarc === "fail") {
      const from = result.dmarc ? (result.dmarc.status.header?.from ?? result.dmarc.domain) : "";
      return {
        ok: false,
        temporary: false,
        reason: `DMARC fails for the From: header's domain ${from}: neither SPF nor DKIM vouches for it`,
      };
    }
    return {
      ok: true,
      how: spfPass ? `SPF pass for ${domain}` : `DKIM signature of ${dkimPass!.signingDomain}`,
    };
  }
  const dkimWords = signatures.length
    ? `DKIM ${signatures.map((s) => `${s.status.result}${s.signingDomain ? ` (${s.signingDomain})` : ""}`).join(", ")}`
    : "no DKIM signature";
  if (TEMPORARY.has(spf) || signatures.some((s) => TEMPORARY.has(s.status.result))) {
    return {
      ok: false,
      temporary: true,
      reason: `the DNS lookups that verify ${domain} failed (SPF ${spf}, ${dkimWords}); try again later`,
    };
  }
  return {
    ok: false,
    temporary: false,
    reason: `sender ${envelope.sender} is not verified: SPF ${spf} for ${domain} from ${envelope.ip}, ${dkimWords}. Only mail that ${domain}'s SPF record allows or that it signs with DKIM counts as from this sender`,
  };
}
