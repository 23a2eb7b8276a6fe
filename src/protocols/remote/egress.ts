/**
 * Where Ferry may connect to on a customer's behalf (pulls, deliveries). A connection's host is the
 * customer's to choose, so without a rule it could point at Ferry's own machine or network (the database, a
 * cloud metadata service, other tenants' servers) and its errors would tell which ports are open. By default
 * every address a host name resolves to must be public: loopback, private, link-local, shared (CGNAT),
 * multicast and reserved ranges are refused before any packet is sent, and the connection then goes to the
 * address that was checked, so DNS cannot answer differently between the check and the connection.
 * FERRY_REMOTE_ALLOW_PRIVATE=true lifts the rule (self-hosted use); a list of addresses and CIDR ranges
 * allows just those.
 */
import { lookup } from "node:dns/promises";
import net from "node:net";
import { RemoteError } from "../../pipeline/remote.js";

export interface Egress {
  /** Whether Ferry may connect to this IP address. */
  allows(address: string): boolean;
}

const NOT_PUBLIC_V4 = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const;
const NOT_PUBLIC_V6 = [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const;

const notPublic = new net.BlockList();
for (const [address, prefix] of NOT_PUBLIC_V4) notPublic.addSubnet(address, prefix, "ipv4");
for (const [address, prefix] of NOT_PUBLIC_V6) notPublic.addSubnet(address, prefix, "ipv6");

/** The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address, else the address itself. */
function unmapped(address: string): string {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

function isPublic(address: string): boolean {
  const a = unmapped(address);
  return !notPublic.check(a, net.isIPv6(a) ? "ipv6" : "ipv4");
}

/**
 * The policy for a FERRY_REMOTE_ALLOW_PRIVATE value: "false" (public addresses only), "true" (anything), or
 * a comma-separated list of addresses and CIDR ranges allowed besides public ones.
 */
export function egressPolicy(setting: string): Egress {
  if (setting === "true") return { allows: () => true };
  const allowed = new net.BlockList();
  if (setting !== "false") {
    for (const item of setting
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [address, prefix] = item.split("/") as [string, string | undefined];
      const type = net.isIPv6(address) ? "ipv6" : "ipv4";
      if (prefix === undefined) allowed.addAddress(address, type);
      else allowed.addSubnet(address, Number(prefix), type);
    }
  }
  return {
    allows: (address) => {
      const a = unmapped(address);
      return isPublic(a) || allowed.check(a, net.isIPv6(a) ? "ipv6" : "ipv4");
    },
  };
}

/**
 * The address to connect to for `host`: every address it resolves to must be allowed (a name that also
 * resolves to a private address is refused), and the first is used.
 */
export async function resolveAllowed(host: string, port: number, egress: Egress): Promise<string> {
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch (err) {
      throw new RemoteError(
        "UNREACHABLE",
        `${host}:${port} (${(err as { code?: string }).code ?? "no address"})`,
      );
    }
  }
  if (addresses.length === 0 || !addresses.every((a) => egress.allows(a))) {
    throw new RemoteError(
      "UNREACHABLE",
      `${host}:${port} is a local or private address, which Ferry does not connect to (FERRY_REMOTE_ALLOW_PRIVATE)`,
    );
  }
  return addresses[0]!;
}
