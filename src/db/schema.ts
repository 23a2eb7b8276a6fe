/** Kysely's view of the tables in migrations/*.sql. Keep in step with the migrations and schema.sql. */
import type { ColumnType, Generated } from "kysely";

type CreatedAt = ColumnType<Date, Date | undefined, never>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<Record<string, unknown>, string, string>;

export interface AccountsTable {
  id: string;
  name: string;
  type: "brand" | "partner";
  time_zone: Generated<string>;
  currency: Generated<string>;
  created_at: CreatedAt;
}

export interface UsersTable {
  id: string;
  account_id: string;
  login: string;
  password_hash: string;
  role: "admin" | "member";
  created_at: CreatedAt;
}

export interface ApiTokensTable {
  id: string;
  account_id: string;
  user_id: string | null;
  name: string;
  role: "admin" | "member";
  token_hash: Buffer;
  prefix: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface CredentialsTable {
  id: string;
  account_id: string;
  name: string;
  kind: "password" | "public_key";
  username: string;
  password_hash: string | null;
  public_key: string | null;
  key_type: string | null;
  key_bits: number | null;
  fingerprint: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  last_used_at: Timestamp | null;
}

export interface ConnectionsTable {
  id: string;
  account_id: string;
  name: string;
  direction: "inbound" | "outbound";
  data_type: string;
  method: string;
  methodology: string;
  credential_id: string | null;
  /** Stable folder name in the SFTP/FTP view, set at creation. */
  folder: string;
  status: Generated<"active" | "disabled">;
  details: Json;
  created_at: CreatedAt;
  updated_at: Timestamp;
  status_changed_at: Timestamp;
}

export interface AuditEventsTable {
  id: string;
  account_id: string;
  actor_type: "user" | "token" | "credential" | "system";
  actor_id: string | null;
  action: string;
  object_type: string;
  object_id: string | null;
  details: Json;
  ip: string | null;
  at: CreatedAt;
}

export type TransferStatus =
  | "received"
  | "processing"
  | "processed"
  | "failed"
  | "duplicate"
  | "generated"
  | "delivered"
  | "downloaded";

export type TransferProtocol = "sftp" | "ftp" | "email" | "http" | "pull" | "schedule";

export interface TransfersTable {
  id: string;
  account_id: string;
  connection_id: string;
  direction: "inbound" | "outbound";
  file_name: string;
  store_key: string | null;
  size: ColumnType<number, number, number>;
  sha256: string;
  status: TransferStatus;
  credential_id: string | null;
  protocol: TransferProtocol;
  remote_ip: string | null;
  duplicate_of: string | null;
  error: string | null;
  result_key: string | null;
  download_count: Generated<number>;
  first_downloaded_at: Timestamp | null;
  last_downloaded_at: Timestamp | null;
  hidden_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface StagedFilesTable {
  id: string;
  account_id: string;
  connection_id: string;
  file_name: string;
  store_key: string;
  size: ColumnType<number, number, number>;
  sha256: string;
  credential_id: string | null;
  remote_ip: string | null;
  protocol: TransferProtocol;
  created_at: CreatedAt;
}

export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  credentials: CredentialsTable;
  connections: ConnectionsTable;
  audit_events: AuditEventsTable;
  transfers: TransfersTable;
  staged_files: StagedFilesTable;
}
