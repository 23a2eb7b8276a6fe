import { describe, expect, it } from "vitest";
import { normalisePath } from "./vfs.js";

describe("normalisePath", () => {
  it("makes any client path absolute and clean, never above the root", () => {
    const cases: [string, string, string][] = [
      ["/", "/", "/"],
      ["orders.csv", "/", "/orders.csv"],
      ["orders.csv", "/in/inbox", "/in/inbox/orders.csv"],
      ["../outbox/x.csv", "/in/inbox", "/in/outbox/x.csv"],
      ["/in//inbox/./x.csv", "/", "/in/inbox/x.csv"],
      ["/in/inbox/", "/", "/in/inbox"],
      ["../../../../etc/passwd", "/in/inbox", "/etc/passwd"],
      ["/../..", "/", "/"],
      ["..", "/", "/"],
      ["", "/in", "/in"],
    ];
    for (const [p, cwd, want] of cases) expect(normalisePath(p, cwd), `${p} from ${cwd}`).toBe(want);
  });
});
