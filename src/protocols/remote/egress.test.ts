import { describe, expect, it } from "vitest";
import { egressSettingError } from "../../config.js";
import { egressPolicy, resolveAllowed } from "./egress.js";

describe("egress", () => {
  const publicOnly = egressPolicy("false");

  it("refuses loopback, private, link-local, shared and mapped addresses by default", () => {
    for (const a of [
      "127.0.0.1",
      "127.8.9.10",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "255.255.255.255",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
    ]) {
      expect(publicOnly.allows(a), a).toBe(false);
    }
  });

  it("allows public addresses", () => {
    for (const a of ["8.8.8.8", "172.32.0.1", "2a00:1450:4007:80e::200e", "::ffff:8.8.4.4"]) {
      expect(publicOnly.allows(a), a).toBe(true);
    }
  });

  it("allows listed addresses and ranges besides public ones, or anything with true", () => {
    const listed = egressPolicy("127.0.0.1, 10.20.0.0/16");
    expect(listed.allows("127.0.0.1")).toBe(true);
    expect(listed.allows("10.20.3.4")).toBe(true);
    expect(listed.allows("10.21.3.4")).toBe(false);
    expect(listed.allows("127.0.0.2")).toBe(false);
    expect(egressPolicy("true").allows("127.0.0.1")).toBe(true);
  });

  it("checks every address a name resolves to before connecting, in words the user can act on", async () => {
    await expect(resolveAllowed("localhost", 22, publicOnly)).rejects.toThrow(
      /host unreachable: localhost:22 is a local or private address, which Ferry does not connect to/,
    );
    await expect(resolveAllowed("10.0.0.1", 21, publicOnly)).rejects.toThrow(/local or private address/);
    expect(await resolveAllowed("127.0.0.1", 22, egressPolicy("127.0.0.1"))).toBe("127.0.0.1");
  });

  it("says what is wrong with a bad setting", () => {
    expect(egressSettingError("false")).toBeNull();
    expect(egressSettingError("10.0.0.0/8,::1")).toBeNull();
    expect(egressSettingError("yes")).toMatch(/"yes" is not an IP address/);
    expect(egressSettingError("10.0.0.0/33")).toMatch(/bad prefix length/);
  });
});
