/**
 * FTP data connections (RFC 959 §3.2, RFC 2428): passive mode, where the client connects to a port Ferry
 * opens for one transfer (PASV/EPSV), and — only when an operator turns it on — active mode, where Ferry
 * connects to the client (PORT/EPRT). Under PROT P the data connection speaks TLS with Ferry as the TLS
 * server in both modes (data-tls.ts).
 *
 * A passive port takes one connection, from the control connection's own client (behind a balancer: the
 * client its PROXY header names); a connection from any other address is dropped and the port goes on
 * waiting, so nobody can steal a transfer by racing to the port. A port nobody connects to closes after
 * CONNECT_TIMEOUT_MS.
 */
import net from "node:net";
import type tls from "node:tls";
import type { Logger } from "pino";
import { plainIp } from "../admission.js";
import { type ProxySources, takeProxyHeader } from "../proxy-protocol.js";
import { secureDataSocket } from "./data-tls.js";

export const CONNECT_TIMEOUT_MS = 30_000;

/** The passive ports of one server, handed out in turn so a port just closed is not the next one taken. */
export class PassivePorts {
  private next: number;

  constructor(
    private range: readonly [number, number],
    private host: string,
  ) {
    this.next = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
  }

  /** A listening server on the first free port of the range, or null when every port is taken. */
  async listen(
    onConnection: (socket: net.Socket) => void,
    pauseOnConnect: boolean,
  ): Promise<net.Server | null> {
    const [low, high] = this.range;
    for (let tried = 0; tried <= high - low; tried++) {
      const port = this.next;
      this.next = port >= high ? low : port + 1;
      const server = net.createServer({ pauseOnConnect }, onConnection);
      const listening = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(port, this.host, () => resolve(true));
      });
      if (listening) return server;
    }
    return null;
  }
}

export interface DataChannelOptions {
  ports: PassivePorts;
  proxySources: ProxySources;
  tls: tls.SecureContextOptions;
  /** The client's address on the control connection. */
  clientIp: () => string;
  log: Logger;
}

type Pending =
  | { kind: "passive"; server: net.Server; socket: net.Socket | null; timer: NodeJS.Timeout }
  | { kind: "active"; host: string; port: number };

/** The data connection of one control connection: at most one set up at a time. */
export class DataChannel {
  private pending: Pending | null = null;
  private socket: net.Socket | null = null;
  private waiter: ((socket: net.Socket | null) => void) | null = null;

  constructor(private options: DataChannelOptions) {}

  /** PASV/EPSV: opens a passive port (closing any data connection set up before); its number, or null. */
  async listenPassive(secure: boolean): Promise<number | null> {
    this.close();
    // Plain sockets stay paused until the transfer reads them; a TLS socket reads at once to do its handshake.
    const server = await this.options.ports.listen((raw) => this.accepted(raw, secure), !secure);
    if (!server) return null;
    server.maxConnections = 1;
    server.on("error", (err) => this.options.log.debug({ err }, "passive data server failed"));
    const timer = setTimeout(() => {
      if (this.pending?.kind === "passive" && this.pending.server === server) this.close();
    }, CONNECT_TIMEOUT_MS);
    timer.unref();
    this.pending = { kind: "passive", server, socket: null, timer };
    return (server.address() as net.AddressInfo).port;
  }

  /** PORT/EPRT: the next transfer connects to host:port (closing any data connection set up before). */
  setActive(host: string, port: number): void {
    this.close();
    this.pending = { kind: "active", host, port };
  }

  private accepted(raw: net.Socket, secure: boolean): void {
    raw.on("error", () => {});
    takeProxyHeader(raw, this.options.proxySources, (err) => {
      if (err) {
        this.options.log.warn({ err, peer: raw.remoteAddress }, "data connection's PROXY header refused");
        return;
      }
      const pending = this.pending;
      if (pending?.kind !== "passive" || pending.socket) return void raw.destroy();
      if (plainIp(raw.remoteAddress) !== plainIp(this.options.clientIp())) {
        this.options.log.warn(
          { peer: raw.remoteAddress, client: this.options.clientIp() },
          "data connection from another address than the control connection's: dropped",
        );
        return void raw.destroy();
      }
      clearTimeout(pending.timer);
      pending.server.close();
      if (secure) raw.resume();
      const socket = secure ? secureDataSocket(raw, this.options.tls) : raw;
      socket.on("error", (e) => this.options.log.debug({ err: e }, "data connection failed"));
      pending.socket = socket;
      this.handOver();
    });
  }

  private handOver(): void {
    if (this.pending?.kind !== "passive" || !this.pending.socket || !this.waiter) return;
    const waiter = this.waiter;
    this.waiter = null;
    this.socket = this.pending.socket;
    this.pending = null;
    waiter(this.socket);
  }

  /**
   * The data connection for a transfer command: the passive one once the client connected (waiting up to
   * CONNECT_TIMEOUT_MS), or the active one once Ferry connected to the client; null when there is none.
   */
  async open(secure: boolean): Promise<net.Socket | null> {
    const pending = this.pending;
    if (!pending) return null;
    if (pending.kind === "active") {
      this.pending = null;
      const raw = net.connect({ host: pending.host, port: pending.port });
      raw.setTimeout(CONNECT_TIMEOUT_MS, () => raw.destroy(new Error("connect timed out")));
      const connected = await new Promise<boolean>((resolve) => {
        raw.once("connect", () => resolve(true));
        raw.once("error", () => resolve(false));
      });
      if (!connected) return null;
      raw.setTimeout(0);
      raw.pause();
      if (secure) raw.resume();
      this.socket = secure ? secureDataSocket(raw, this.options.tls) : raw;
      this.socket.on("error", (e) => this.options.log.debug({ err: e }, "data connection failed"));
      return this.socket;
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.waiter !== settle) return;
        this.waiter = null;
        this.close();
        resolve(null);
      }, CONNECT_TIMEOUT_MS);
      const settle = (socket: net.Socket | null) => {
        clearTimeout(timer);
        resolve(socket);
      };
      this.waiter = settle;
      this.handOver();
    });
  }

  /** Ends the data connection and any passive port (after a transfer, a new PASV, or the session's end). */
  close(): void {
    const pending = this.pending;
    this.pending = null;
    if (pending?.kind === "passive") {
      clearTimeout(pending.timer);
      pending.server.close();
      pending.socket?.destroy();
    }
    this.socket?.destroy();
    this.socket = null;
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.(null);
  }
}
