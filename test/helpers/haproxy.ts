/**
 * A real TCP load balancer for tests and benchmarks: HAProxy (Debian package haproxy) in front of several
 * `ferry serve` nodes, with the configuration docs/deploy.md shows (haproxyConfig writes both). Each node
 * listens on its own loopback address (127.0.1.N), so node and balancer can use the same passive FTP ports.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { freePort, waitForListen } from "./ports.js";

export const HAPROXY = "/usr/sbin/haproxy";

export interface BalancedNode {
  name: string;
  /** The address the node binds (FERRY_BIND). */
  address: string;
  http: number;
  sftp: number;
  ftp: number;
  smtp: number;
  /** The node's own passive FTP range (FERRY_FTP_PASV_PORTS): the balancer sends these ports to it alone. */
  passive: [number, number];
}

export interface BalancerPorts {
  /** The public address: FERRY_FTP_PASV_ADDRESS of every node. */
  address: string;
  http: number;
  sftp: number;
  ftp: number;
  smtp: number;
  /** A door straight to one node's SFTP server (for operators, and for tests that must choose a node). */
  direct?: Record<string, number>;
  /** Where HAProxy's runtime API listens ("show stat"). */
  statsSocket?: string;
  maxconn?: number;
}

/**
 * HAProxy's configuration for Ferry: TCP mode; every connection to a node opens with a PROXY header
 * (`send-proxy`, version 1, which all three servers read; FERRY_TRUSTED_PROXIES lists the balancer), HTTP
 * carries X-Forwarded-For; nodes are checked on GET /healthz; a connection refused by a dead node is sent to
 * another (redispatch).
 */
export function haproxyConfig(front: BalancerPorts, nodes: BalancedNode[]): string {
  const check = (n: BalancedNode) => `check port ${n.http} inter 1s fall 2 rise 2`;
  const pool = (name: string, mode: string, port: (n: BalancedNode) => number, proxy: boolean) =>
    [
      `backend ${name}`,
      `    balance ${mode}`,
      "    option httpchk GET /healthz",
      ...nodes.map(
        (n) => `    server ${n.name} ${n.address}:${port(n)}${proxy ? " send-proxy" : ""} ${check(n)}`,
      ),
      "",
    ].join("\n");
  const lines = [
    "# Ferry behind HAProxy: SFTP, FTPS and SMTP in TCP mode, each connection opened with a PROXY header",
    "# (send-proxy) that names the client; HTTP with X-Forwarded-For. Every node lists this balancer's",
    "# address in FERRY_TRUSTED_PROXIES. Nodes are checked on GET /healthz.",
    "global",
    `    maxconn ${front.maxconn ?? 4000}`,
    ...(front.statsSocket ? [`    stats socket ${front.statsSocket} mode 600 level admin`] : []),
    "",
    "defaults",
    "    mode tcp",
    "    timeout connect 5s",
    "    # Sessions stay open while files move; Ferry closes idle ones itself (FERRY_IDLE_TIMEOUT_SECONDS).",
    "    timeout client 2h",
    "    timeout server 2h",
    "    timeout check 3s",
    "    # A connection refused by a node that just died is sent to another.",
    "    retries 2",
    "    option redispatch",
    "",
    ...(["sftp", "ftp", "smtp"] as const).flatMap((p) => [
      `frontend ${p}`,
      `    bind ${front.address}:${front[p]}`,
      `    default_backend ${p}_nodes`,
      "",
    ]),
    "frontend http",
    "    mode http",
    "    option forwardfor",
    `    bind ${front.address}:${front.http}`,
    "    default_backend http_nodes",
    "",
    "# Long sessions: the node with fewest; HTTP requests are short: in turn.",
    pool("sftp_nodes", "leastconn", (n) => n.sftp, true),
    pool("ftp_nodes", "leastconn", (n) => n.ftp, true),
    pool("smtp_nodes", "leastconn", (n) => n.smtp, true),
    pool("http_nodes", "roundrobin", (n) => n.http, false).replace(
      "    balance",
      "    mode http\n    balance",
    ),
    "# An FTP data connection must reach the node whose PASV reply named its port: each node has its own",
    "# range (FERRY_FTP_PASV_PORTS), announced with the balancer's address (FERRY_FTP_PASV_ADDRESS).",
    ...nodes.flatMap((n) => [
      `frontend ftp_passive_${n.name}`,
      `    bind ${front.address}:${n.passive[0]}-${n.passive[1]}`,
      `    default_backend ftp_passive_${n.name}`,
      "",
      `backend ftp_passive_${n.name}`,
      // No port: the one the client connected to.
      `    server ${n.name} ${n.address} send-proxy`,
      "",
    ]),
    ...Object.entries(front.direct ?? {}).flatMap(([name, port]) => {
      const n = nodes.find((x) => x.name === name)!;
      return [
        `listen sftp_${name}`,
        `    bind ${front.address}:${port}`,
        `    server ${name} ${n.address}:${n.sftp} send-proxy`,
        "",
      ];
    }),
  ];
  return lines.join("\n");
}

/** The deployment docs/deploy.md shows: three nodes on a private network, the balancer on a public address. */
export const EXAMPLE_DEPLOYMENT: { front: BalancerPorts; nodes: BalancedNode[] } = {
  front: { address: "203.0.113.10", http: 80, sftp: 22, ftp: 21, smtp: 25, maxconn: 20000 },
  nodes: [1, 2, 3].map((i) => ({
    name: `node${i}`,
    address: `10.0.0.1${i}`,
    http: 8080,
    sftp: 2222,
    ftp: 2121,
    smtp: 2525,
    passive: [30000 + (i - 1) * 100, 30099 + (i - 1) * 100] as [number, number],
  })),
};

/**
 * Free ports for a balancer on 127.0.0.1 and `count` nodes on 127.0.1.N, each node with its own block of 20
 * passive FTP ports (20000–29999, as startServe's), and, with `direct`, a door on the balancer to each node.
 */
export async function planCluster(
  count: number,
  options: { direct?: boolean; maxconn?: number } = {},
): Promise<{ front: BalancerPorts; nodes: BalancedNode[] }> {
  const front: BalancerPorts = {
    address: "127.0.0.1",
    http: await freePort(),
    sftp: await freePort(),
    ftp: await freePort(),
    smtp: await freePort(),
    ...(options.direct ? { direct: {} } : {}),
    ...(options.maxconn ? { maxconn: options.maxconn } : {}),
  };
  const passiveBase = 20_000 + Math.floor(Math.random() * (500 - count)) * 20;
  const nodes: BalancedNode[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `node${i}`;
    if (front.direct) front.direct[name] = await freePort();
    nodes.push({
      name,
      address: `127.0.1.${i}`,
      http: await freePort(),
      sftp: await freePort(),
      ftp: await freePort(),
      smtp: await freePort(),
      passive: [passiveBase + (i - 1) * 20, passiveBase + (i - 1) * 20 + 19],
    });
  }
  return { front, nodes };
}

/** What makes a `ferry serve` one node behind the balancer: its address and ports, the balancer trusted. */
export function nodeEnv(front: BalancerPorts, node: BalancedNode): Record<string, string> {
  return {
    FERRY_BIND: node.address,
    FERRY_HTTP_PORT: String(node.http),
    FERRY_SFTP_PORT: String(node.sftp),
    FERRY_FTP_PORT: String(node.ftp),
    FERRY_SMTP_PORT: String(node.smtp),
    FERRY_FTP_PASV_PORTS: `${node.passive[0]}-${node.passive[1]}`,
    // Clients are told the balancer's address; it sends this node's range back to this node.
    FERRY_FTP_PASV_ADDRESS: front.address,
    FERRY_TRUSTED_PROXIES: front.address,
  };
}

export interface RunningHaproxy {
  /**
   * A counter per server of a backend from HAProxy's runtime API ("show stat"): sessions so far ("stot", the
   * default) or open now ("scur").
   */
  sessions(backend: string, column?: "stot" | "scur"): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts HAProxy on a configuration (checked first) in the foreground; resolves once its SFTP port listens. */
export async function startHaproxy(
  dir: string,
  front: BalancerPorts,
  nodes: BalancedNode[],
): Promise<RunningHaproxy> {
  const statsSocket = front.statsSocket ?? path.join(dir, "haproxy.sock");
  const file = path.join(dir, "haproxy.cfg");
  await writeFile(file, haproxyConfig({ ...front, statsSocket }, nodes));
  await new Promise<void>((resolve, reject) =>
    execFile(HAPROXY, ["-c", "-q", "-f", file], (err, _o, stderr) =>
      err ? reject(new Error(`haproxy -c: ${stderr}`)) : resolve(),
    ),
  );
  const child: ChildProcess = spawn(HAPROXY, ["-db", "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await waitForListen(front.sftp, child, () => stderr, "haproxy");
  // Until its checks have seen a node up (rise 2 × 1 s), HAProxy has no server to send to.
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://${front.address}:${front.http}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    sessions: async (backend, column = "stot") => {
      const csv = await new Promise<string>((resolve, reject) => {
        const s = net.connect(statsSocket);
        let out = "";
        s.on("data", (d) => {
          out += d;
        });
        s.on("end", () => resolve(out));
        s.on("error", reject);
        s.end("show stat\n");
      });
      const [head, ...rows] = csv.replace(/^# /, "").trim().split("\n");
      const cols = head!.split(",");
      const result: Record<string, number> = {};
      for (const row of rows) {
        const v = row.split(",");
        if (v[0] === backend && v[1] !== "BACKEND") result[v[1]!] = Number(v[cols.indexOf(column)]);
      }
      return result;
    },
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
