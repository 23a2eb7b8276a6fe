import { describe, expect, it } from "vitest";
import { activeTarget } from "./commands.js";
import { commandText } from "./session.js";

describe("activeTarget", () => {
  it("reads PORT's six numbers and EPRT's delimited fields", () => {
    expect(activeTarget("PORT", "127,0,0,1,39,16")).toEqual({ host: "127.0.0.1", port: 39 * 256 + 16 });
    expect(activeTarget("EPRT", "|1|192.0.2.7|2121|")).toEqual({ host: "192.0.2.7", port: 2121 });
    expect(activeTarget("EPRT", "!2!::1!40000!")).toEqual({ host: "::1", port: 40000 });
  });

  it("refuses what is no address", () => {
    for (const [directive, arg] of [
      ["PORT", "127,0,0,1,39"],
      ["PORT", "256,0,0,1,1,1"],
      ["PORT", "127,0,0,1,0,0"],
      ["EPRT", "|1|::1|21|"],
      ["EPRT", "|2|127.0.0.1|21|"],
      ["EPRT", "|1|127.0.0.1|70000|"],
      ["EPRT", "|1|127.0.0.1|21"],
      ["EPRT", "|3|x|21|"],
    ] as const) {
      expect(activeTarget(directive, arg), `${directive} ${arg}`).toBeNull();
    }
  });
});

describe("commandText", () => {
  it("drops the CR and Telnet commands, keeps UTF-8 and an escaped 0xFF", () => {
    expect(commandText(Buffer.from("NOOP\r"))).toBe("NOOP");
    expect(commandText(Buffer.from([0xff, 0xf4, 0xff, 0xf2, ...Buffer.from("ABOR\r")]))).toBe("ABOR");
    expect(commandText(Buffer.from("STOR über.csv\r"))).toBe("STOR über.csv");
    expect(commandText(Buffer.from([...Buffer.from("X"), 0xff, 0xff]))).toBe("X\ufffd");
    expect(commandText(Buffer.from("RETR a\0b\r"))).toBe("RETR ab");
  });
});
