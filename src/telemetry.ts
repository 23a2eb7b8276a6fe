/**
 * What Ferry counts about its work, for /metrics (Prometheus names and units): files received and bytes, files
 * processed by outcome, rows by result, processing time, sessions, login failures, pulls, outbound runs, deliveries. Counters of this process; the HTTP server adds them
 * to its own registry, with the cluster-wide figures read at scrape time (queue backlog, active bans).
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export const serviceRegistry = new Registry();

export const filesReceived = new Counter({
  name: "ferry_files_received_total",
  help: "Inbound files recorded (received whole), by protocol",
  labelNames: ["protocol"],
  registers: [serviceRegistry],
});

export const bytesReceived = new Counter({
  name: "ferry_received_bytes_total",
  help: "Bytes of inbound files recorded, by protocol",
  labelNames: ["protocol"],
  registers: [serviceRegistry],
});

export const filesProcessed = new Counter({
  name: "ferry_files_processed_total",
  help: "Inbound files processed, by data type and outcome (processed, partial, rejected, validated, failed, duplicate)",
  labelNames: ["data_type", "status"],
  registers: [serviceRegistry],
});

export const rowsProcessed = new Counter({
  name: "ferry_rows_total",
  help: "Rows of processed files, by data type and result (ok, error, duplicate)",
  labelNames: ["data_type", "result"],
  registers: [serviceRegistry],
});

export const processingSeconds = new Histogram({
  name: "ferry_processing_duration_seconds",
  help: "Time from the start of a file's processing to its summary, by data type",
  labelNames: ["data_type"],
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800],
  registers: [serviceRegistry],
});

export const openSessions = new Gauge({
  name: "ferry_sessions",
  help: "Logged-in SFTP and FTP sessions on this node, by protocol",
  labelNames: ["protocol"],
  registers: [serviceRegistry],
});

export const loginFailures = new Counter({
  name: "ferry_login_failures_total",
  help: "Failed logins (wrong password or signature), by protocol (sftp, ftp, web)",
  labelNames: ["protocol"],
  registers: [serviceRegistry],
});

export const pullsFinished = new Counter({
  name: "ferry_pulls_total",
  help: "Pulls from third-party servers that ended, by method and outcome (succeeded, failed)",
  labelNames: ["method", "status"],
  registers: [serviceRegistry],
});

export const outboundRuns = new Counter({
  name: "ferry_outbound_runs_total",
  help: "Outbound runs (a report or bonus file for a period), by outcome: generated, or failed (retries used up)",
  labelNames: ["status"],
  registers: [serviceRegistry],
});

export const deliveries = new Counter({
  name: "ferry_deliveries_total",
  help: "Deliveries of files (email, link, upload to a customer's server, results), by kind and outcome: delivered, or failed (an attempt; it is retried)",
  labelNames: ["kind", "status"],
  registers: [serviceRegistry],
});

export const bytesSent = new Counter({
  name: "ferry_sent_bytes_total",
  help: "Bytes of stored files read out to clients (downloads over SFTP, FTP, HTTP and links), by protocol",
  labelNames: ["protocol"],
  registers: [serviceRegistry],
});
