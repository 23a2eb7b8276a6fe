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
  storage_quota_bytes: Generated<number | null>;
  /** Retention in days of each kind of file (null: the server's default). */
  inbound_retention_days: Generated<number | null>;
  result_retention_days: Generated<number | null>;
  outbound_retention_days: Generated<number | null>;
}

/** A role inside one account: `admin` manages its users, API tokens and settings; `member` does the rest. */
export type AccountRole = "admin" | "member";

export interface UsersTable {
  id: string;
  account_id: string;
  login: string;
  password_hash: string;
  role: "admin" | "member";
  /** The user's role in their account: its admins manage users, tokens and settings. */
  account_role: AccountRole;
  created_at: CreatedAt;
  disabled_at: Timestamp | null;
  password_changed_at: Timestamp | null;
}

export interface ApiTokensTable {
  id: string;
  account_id: string;
  user_id: string | null;
  name: string;
  role: "admin" | "member";
  /** The token's role in its account: never more than its maker's. */
  account_role: AccountRole;
  token_hash: Buffer;
  prefix: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  expires_at: Timestamp | null;
  /** Who revoked it: "user:<id>", "token:<id>", or "user-disabled". */
  revoked_by: string | null;
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
  max_sessions: Generated<number | null>;
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
  /** Inbound email connections: the local part of their address, set at creation. */
  mailbox: string | null;
  status: Generated<"active" | "disabled">;
  details: Json;
  created_at: CreatedAt;
  updated_at: Timestamp;
  status_changed_at: Timestamp;
  /** Retention in days of its files, and of its result files (null: the account's). */
  retention_days: Generated<number | null>;
  result_retention_days: Generated<number | null>;
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
  | "partial"
  | "rejected"
  | "validated"
  | "failed"
  | "duplicate"
  | "generated"
  | "delivered"
  | "delivery_failed"
  | "downloaded";

export type TransferProtocol = "sftp" | "ftp" | "email" | "http" | "pull" | "schedule" | "manual";

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
  /** The transfer this one processes again (same stored bytes). */
  reprocess_of: string | null;
  error: string | null;
  rows_total: number | null;
  rows_ok: number | null;
  rows_error: number | null;
  rows_duplicate: number | null;
  validate_only: Generated<boolean>;
  attempts: Generated<number>;
  processing_started_at: Timestamp | null;
  processed_at: Timestamp | null;
  delivered_at: Timestamp | null;
  download_count: Generated<number>;
  first_downloaded_at: Timestamp | null;
  last_downloaded_at: Timestamp | null;
  hidden_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  client_mtime: Timestamp | null;
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
  client_mtime: Timestamp | null;
}

/** numeric columns: pg returns them as strings (exact), they are written as numbers or strings. */
type Numeric = ColumnType<string, string | number, string | number>;
type Id = ColumnType<number, number | undefined, never>;

export interface CampaignsTable {
  id: Id;
  account_id: string;
  name: string;
  currency: string;
  status: Generated<"active" | "paused">;
  created_at: CreatedAt;
}

export interface PartnersTable {
  id: Id;
  account_id: string;
  name: string;
  status: Generated<"active" | "inactive">;
  created_at: CreatedAt;
}

export interface PromoCodesTable {
  account_id: string;
  code: string;
  partner_id: number;
  created_at: CreatedAt;
}

export type PayoutType = "percent" | "fixed";

export interface ActionTrackersTable {
  id: Id;
  account_id: string;
  campaign_id: number;
  name: string;
  payout_type: PayoutType;
  payout_value: Numeric;
  lock_days: Generated<number>;
  currency: string;
  created_at: CreatedAt;
}

export interface TrackerPayoutsTable {
  account_id: string;
  tracker_id: number;
  partner_id: number;
  payout_type: PayoutType;
  payout_value: Numeric;
}

export interface ClicksTable {
  account_id: string;
  click_id: string;
  campaign_id: number;
  partner_id: number;
  ad_id: number | null;
  event_date: Timestamp;
  ip_address: string | null;
  user_agent: string | null;
  referring_url: string | null;
  landing_page_url: string | null;
  sub_id1: string | null;
  sub_id2: string | null;
  sub_id3: string | null;
  transfer_id: string | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type ActionState = "PENDING" | "APPROVED" | "REVERSED";

export interface ActionsTable {
  id: Id;
  account_id: string;
  campaign_id: number;
  tracker_id: number;
  partner_id: number;
  order_id: string;
  event_date: Timestamp;
  click_id: string | null;
  promo_code: string | null;
  ad_id: number | null;
  customer_id: string | null;
  customer_status: "NEW" | "EXISTING" | null;
  currency: string;
  original_amount: Numeric;
  amount: Numeric;
  order_discount: Numeric | null;
  order_shipping: Numeric | null;
  order_tax: Numeric | null;
  original_payout: Numeric;
  payout: Numeric;
  state: Generated<ActionState>;
  locking_date: Timestamp;
  modification_count: Generated<number>;
  last_reason: string | null;
  transfer_id: string;
  line: number;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ActionItemsTable {
  account_id: string;
  action_id: number;
  position: number;
  sku: string;
  name: string | null;
  category: string | null;
  quantity: number;
  item_price: Numeric | null;
  amount: Numeric;
}

export interface ActionModificationsTable {
  id: Id;
  account_id: string;
  action_id: number;
  reason: string;
  disposition_code: string | null;
  old_amount: Numeric;
  new_amount: Numeric;
  old_payout: Numeric;
  new_payout: Numeric;
  old_state: string;
  new_state: string;
  items: Json | null;
  transfer_id: string | null;
  line: number | null;
  created_at: CreatedAt;
}

export interface CatalogsTable {
  id: Id;
  account_id: string;
  connection_id: string;
  name: string;
  transfer_id: string | null;
  item_count: Generated<number>;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface CatalogItemsTable {
  account_id: string;
  catalog_id: number;
  item_id: string;
  title: string | null;
  description: string | null;
  link: string | null;
  image_link: string | null;
  price: Numeric | null;
  sale_price: Numeric | null;
  currency: string | null;
  availability: string | null;
  brand: string | null;
  gtin: string | null;
  mpn: string | null;
  product_type: string | null;
  google_product_category: string | null;
  condition: string | null;
  removed_at: Timestamp | null;
  transfer_id: string;
  updated_at: Timestamp;
}

export type ResultKind = "receipt" | "summary" | "errors";

export interface ResultFilesTable {
  id: string;
  account_id: string;
  connection_id: string;
  transfer_id: string;
  kind: ResultKind;
  file_name: string;
  /** Null once retention removed the bytes. */
  store_key: string | null;
  size: ColumnType<number, number, number>;
  created_at: CreatedAt;
}

export interface WebhookEndpointsTable {
  id: string;
  account_id: string;
  url: string;
  description: Generated<string>;
  /** Event types wanted; empty: every event. */
  events: Generated<string[]>;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_until: Timestamp | null;
  status: Generated<"active" | "disabled">;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface WebhookDeliveriesTable {
  id: string;
  account_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  payload: unknown;
  status: Generated<"pending" | "succeeded" | "failed">;
  attempts: Generated<number>;
  response_code: number | null;
  last_error: string | null;
  created_at: CreatedAt;
  last_attempt_at: Timestamp | null;
  delivered_at: Timestamp | null;
}

export interface DeadlineMissesTable {
  connection_id: string;
  due_at: Timestamp;
  account_id: string;
  created_at: CreatedAt;
}

export interface NotificationSubscriptionsTable {
  id: string;
  account_id: string;
  user_id: string;
  email: string;
  /** Null: every connection of the account. */
  connection_id: string | null;
  events: Generated<string[]>;
  mode: "immediate" | "digest";
  created_at: CreatedAt;
}

export interface NotificationsTable {
  id: string;
  account_id: string;
  subscription_id: string;
  event_type: string;
  payload: unknown;
  status: Generated<"pending" | "sent" | "failed">;
  error: string | null;
  created_at: CreatedAt;
  sent_at: Timestamp | null;
}

export interface ReportRunsTable {
  id: string;
  account_id: string;
  connection_id: string;
  period_start: Timestamp;
  period_end: Timestamp;
  trigger: "schedule" | "manual";
  status: Generated<"pending" | "generated" | "failed">;
  transfer_id: string | null;
  rows: number | null;
  error: string | null;
  created_at: CreatedAt;
  finished_at: Timestamp | null;
}

export interface BonusRulesTable {
  id: ColumnType<number, number | undefined, never>;
  account_id: string;
  campaign_id: number;
  name: string;
  basis: "actions" | "revenue";
  kind: "raise_all" | "raise_past_tier" | "fixed";
  tiers: ColumnType<{ from: number; value: number }[], string, string>;
  created_at: CreatedAt;
}

export interface DownloadLinksTable {
  token_hash: Buffer;
  account_id: string;
  transfer_id: string;
  expires_at: Timestamp;
  created_at: CreatedAt;
  uses: ColumnType<number, number | undefined, number>;
  max_uses: number | null;
}

export interface SessionsTable {
  id: string;
  account_id: string;
  user_id: string;
  token_hash: Buffer;
  created_at: CreatedAt;
  last_seen_at: ColumnType<Date, Date | undefined, Date>;
  expires_at: Timestamp;
  ended_at: Date | null;
  ip: string | null;
}

export interface PullsTable {
  id: string;
  account_id: string;
  connection_id: string;
  trigger: "schedule" | "manual";
  status: "pending" | "running" | "succeeded" | "failed";
  files_found: number | null;
  files_taken: number | null;
  files_waiting: number | null;
  error_code: string | null;
  error: string | null;
  host_key: string | null;
  created_at: CreatedAt;
  started_at: Date | null;
  heartbeat_at: Date | null;
  finished_at: Date | null;
}

export interface PulledFilesTable {
  id: string;
  account_id: string;
  connection_id: string;
  path: string;
  size: ColumnType<number, number, number>;
  mtime: Timestamp;
  transfer_id: string;
  pull_id: string;
  deleted_at: Date | null;
  created_at: CreatedAt;
}

export interface AccountKeysTable {
  account_id: string;
  public_key: string;
  fingerprint: string;
  private_key_sealed: string;
  created_at: CreatedAt;
}

/** Files and bytes kept in the store per connection and kind, folded from storage_changes (storage.ts). */
export interface StorageUseTable {
  account_id: string;
  connection_id: string;
  kind: "inbound" | "staged" | "results" | "outbound";
  files: ColumnType<number, number, number>;
  bytes: ColumnType<number, number, number>;
}

/** Changes to storage_use not yet folded into it (appended by triggers). */
export interface StorageChangesTable {
  id: Generated<string>;
  account_id: string;
  connection_id: string;
  kind: string;
  files: number;
  bytes: ColumnType<number, number, number>;
}

export interface PgpKeysTable {
  id: string;
  account_id: string;
  /** own: a key pair Ferry generated for the account; partner: a partner's public key. */
  kind: "own" | "partner";
  name: string;
  fingerprint: string;
  key_id: string;
  algorithm: string;
  user_ids: Generated<string[]>;
  /** Armored. */
  public_key: string;
  /** Own keys only: the armored private key, sealed under the master key. */
  private_key_sealed: string | null;
  expires_at: Timestamp | null;
  status: Generated<"active" | "retired">;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface Database {
  pgp_keys: PgpKeysTable;
  accounts: AccountsTable;
  users: UsersTable;
  api_tokens: ApiTokensTable;
  credentials: CredentialsTable;
  connections: ConnectionsTable;
  audit_events: AuditEventsTable;
  transfers: TransfersTable;
  staged_files: StagedFilesTable;
  campaigns: CampaignsTable;
  partners: PartnersTable;
  promo_codes: PromoCodesTable;
  action_trackers: ActionTrackersTable;
  tracker_payouts: TrackerPayoutsTable;
  clicks: ClicksTable;
  actions: ActionsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  deadline_misses: DeadlineMissesTable;
  notification_subscriptions: NotificationSubscriptionsTable;
  notifications: NotificationsTable;
  action_items: ActionItemsTable;
  action_modifications: ActionModificationsTable;
  catalogs: CatalogsTable;
  catalog_items: CatalogItemsTable;
  result_files: ResultFilesTable;
  report_runs: ReportRunsTable;
  bonus_rules: BonusRulesTable;
  download_links: DownloadLinksTable;
  sessions: SessionsTable;
  pulls: PullsTable;
  pulled_files: PulledFilesTable;
  account_keys: AccountKeysTable;
  storage_use: StorageUseTable;
  storage_changes: StorageChangesTable;
}
