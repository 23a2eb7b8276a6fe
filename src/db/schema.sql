-- Generated from the migrations by `npm run db:dump`; do not edit.

CREATE TABLE account_keys (
  account_id uuid NOT NULL,
  public_key text NOT NULL,
  fingerprint text NOT NULL,
  private_key_sealed text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT account_keys_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT account_keys_pkey PRIMARY KEY (account_id)
);

CREATE TABLE accounts (
  id uuid NOT NULL,
  name text NOT NULL,
  type text NOT NULL,
  time_zone text NOT NULL DEFAULT 'UTC'::text,
  currency text NOT NULL DEFAULT 'USD'::text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  storage_quota_bytes bigint,
  inbound_retention_days integer,
  result_retention_days integer,
  outbound_retention_days integer,
  CONSTRAINT accounts_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
  CONSTRAINT accounts_inbound_retention_days_check CHECK (((inbound_retention_days >= 1) AND (inbound_retention_days <= 36500))),
  CONSTRAINT accounts_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT accounts_outbound_retention_days_check CHECK (((outbound_retention_days >= 1) AND (outbound_retention_days <= 36500))),
  CONSTRAINT accounts_pkey PRIMARY KEY (id),
  CONSTRAINT accounts_result_retention_days_check CHECK (((result_retention_days >= 1) AND (result_retention_days <= 36500))),
  CONSTRAINT accounts_storage_quota_bytes_check CHECK ((storage_quota_bytes > 0)),
  CONSTRAINT accounts_type_check CHECK ((type = ANY (ARRAY['brand'::text, 'partner'::text])))
);

CREATE TABLE action_items (
  account_id uuid NOT NULL,
  action_id bigint NOT NULL,
  position integer NOT NULL,
  sku text NOT NULL,
  name text,
  category text,
  quantity integer NOT NULL,
  item_price numeric(14,2),
  amount numeric(14,2) NOT NULL,
  CONSTRAINT action_items_amount_check CHECK ((amount >= (0)::numeric)),
  CONSTRAINT action_items_pkey PRIMARY KEY (action_id, "position"),
  CONSTRAINT action_items_quantity_check CHECK ((quantity >= 0))
);

CREATE TABLE action_modifications (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  action_id bigint NOT NULL,
  reason text NOT NULL,
  disposition_code text,
  old_amount numeric(14,2) NOT NULL,
  new_amount numeric(14,2) NOT NULL,
  old_payout numeric(14,2) NOT NULL,
  new_payout numeric(14,2) NOT NULL,
  old_state text NOT NULL,
  new_state text NOT NULL,
  items jsonb,
  transfer_id uuid,
  line integer,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT action_modifications_pkey PRIMARY KEY (id),
  CONSTRAINT action_modifications_reason_check CHECK ((reason = ANY (ARRAY['CONS_FRAUD'::text, 'CONS_ERROR'::text, 'ITEM_RETURNED'::text, 'APPROVED'::text, 'ORDER_ERROR'::text, 'ORDER_UPDATE'::text, 'PUB_ACT_DISPUTE'::text, 'ADV_ACT_DISPUTE'::text, 'NOT_COMPLIANCE_TERMS'::text, 'ITEM_OUT_OF_STOCK'::text, 'TEST_ACTION'::text, 'RESET'::text]))),
  CONSTRAINT action_modifications_transfer_id_line_key UNIQUE (transfer_id, line)
);
CREATE INDEX action_modifications_action ON action_modifications USING btree (action_id, id);

CREATE TABLE action_trackers (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  campaign_id bigint NOT NULL,
  name text NOT NULL,
  payout_type text NOT NULL,
  payout_value numeric(14,4) NOT NULL,
  lock_days integer NOT NULL DEFAULT 30,
  currency text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT action_trackers_account_id_campaign_id_fkey FOREIGN KEY (account_id, campaign_id) REFERENCES campaigns(account_id, id),
  CONSTRAINT action_trackers_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT action_trackers_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT action_trackers_check CHECK (((payout_type = 'fixed'::text) OR (payout_value <= (100)::numeric))),
  CONSTRAINT action_trackers_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
  CONSTRAINT action_trackers_lock_days_check CHECK (((lock_days >= 0) AND (lock_days <= 365))),
  CONSTRAINT action_trackers_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT action_trackers_payout_type_check CHECK ((payout_type = ANY (ARRAY['percent'::text, 'fixed'::text]))),
  CONSTRAINT action_trackers_payout_value_check CHECK ((payout_value >= (0)::numeric)),
  CONSTRAINT action_trackers_pkey PRIMARY KEY (id)
);

CREATE TABLE actions (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  campaign_id bigint NOT NULL,
  tracker_id bigint NOT NULL,
  partner_id bigint NOT NULL,
  order_id text NOT NULL,
  event_date timestamp with time zone NOT NULL,
  click_id text,
  promo_code text,
  ad_id bigint,
  customer_id text,
  customer_status text,
  currency text NOT NULL,
  original_amount numeric(14,2) NOT NULL,
  amount numeric(14,2) NOT NULL,
  order_discount numeric(14,2),
  order_shipping numeric(14,2),
  order_tax numeric(14,2),
  original_payout numeric(14,2) NOT NULL,
  payout numeric(14,2) NOT NULL,
  state text NOT NULL DEFAULT 'PENDING'::text,
  locking_date timestamp with time zone NOT NULL,
  modification_count integer NOT NULL DEFAULT 0,
  last_reason text,
  transfer_id uuid NOT NULL,
  line integer NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT actions_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT actions_account_id_tracker_id_order_id_key UNIQUE (account_id, tracker_id, order_id),
  CONSTRAINT actions_amount_check CHECK ((amount >= (0)::numeric)),
  CONSTRAINT actions_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
  CONSTRAINT actions_customer_status_check CHECK ((customer_status = ANY (ARRAY['NEW'::text, 'EXISTING'::text]))),
  CONSTRAINT actions_order_id_check CHECK (((length(order_id) >= 1) AND (length(order_id) <= 64))),
  CONSTRAINT actions_original_amount_check CHECK ((original_amount >= (0)::numeric)),
  CONSTRAINT actions_pkey PRIMARY KEY (id),
  CONSTRAINT actions_state_check CHECK ((state = ANY (ARRAY['PENDING'::text, 'APPROVED'::text, 'REVERSED'::text])))
);

CREATE TABLE api_tokens (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  user_id uuid,
  name text NOT NULL,
  role text NOT NULL,
  token_hash bytea NOT NULL,
  prefix text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  last_used_at timestamp with time zone,
  revoked_at timestamp with time zone,
  expires_at timestamp with time zone,
  revoked_by text,
  account_role text NOT NULL,
  CONSTRAINT api_tokens_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT api_tokens_account_id_user_id_fkey FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id),
  CONSTRAINT api_tokens_account_role_check CHECK ((account_role = ANY (ARRAY['admin'::text, 'member'::text]))),
  CONSTRAINT api_tokens_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
  CONSTRAINT api_tokens_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'member'::text]))),
  CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX api_tokens_account ON api_tokens USING btree (account_id);

CREATE TABLE audit_events (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  actor_type text NOT NULL,
  actor_id uuid,
  action text NOT NULL,
  object_type text NOT NULL,
  object_id text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip inet,
  at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT audit_events_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT audit_events_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'token'::text, 'credential'::text, 'system'::text]))),
  CONSTRAINT audit_events_pkey PRIMARY KEY (id)
);
CREATE INDEX audit_events_account ON audit_events USING btree (account_id, id);
CREATE INDEX audit_events_at ON audit_events USING btree (at);
CREATE INDEX audit_events_object ON audit_events USING btree (account_id, object_type, object_id, id);

CREATE TABLE bonus_rules (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  campaign_id bigint NOT NULL,
  name text NOT NULL,
  basis text NOT NULL,
  kind text NOT NULL,
  tiers jsonb NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT bonus_rules_account_id_campaign_id_fkey FOREIGN KEY (account_id, campaign_id) REFERENCES campaigns(account_id, id),
  CONSTRAINT bonus_rules_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT bonus_rules_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT bonus_rules_basis_check CHECK ((basis = ANY (ARRAY['actions'::text, 'revenue'::text]))),
  CONSTRAINT bonus_rules_kind_check CHECK ((kind = ANY (ARRAY['raise_all'::text, 'raise_past_tier'::text, 'fixed'::text]))),
  CONSTRAINT bonus_rules_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT bonus_rules_pkey PRIMARY KEY (id),
  CONSTRAINT bonus_rules_tiers_check CHECK (((jsonb_typeof(tiers) = 'array'::text) AND ((jsonb_array_length(tiers) >= 1) AND (jsonb_array_length(tiers) <= 20))))
);

CREATE TABLE campaigns (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  name text NOT NULL,
  currency text NOT NULL,
  status text NOT NULL DEFAULT 'active'::text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT campaigns_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT campaigns_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT campaigns_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
  CONSTRAINT campaigns_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT campaigns_pkey PRIMARY KEY (id),
  CONSTRAINT campaigns_status_check CHECK ((status = ANY (ARRAY['active'::text, 'paused'::text])))
);
CREATE UNIQUE INDEX campaigns_account_name ON campaigns USING btree (account_id, lower(name));

CREATE TABLE catalog_items (
  account_id uuid NOT NULL,
  catalog_id bigint NOT NULL,
  item_id text NOT NULL,
  title text,
  description text,
  link text,
  image_link text,
  price numeric(14,2),
  sale_price numeric(14,2),
  currency text,
  availability text,
  brand text,
  gtin text,
  mpn text,
  product_type text,
  google_product_category text,
  condition text,
  removed_at timestamp with time zone,
  transfer_id uuid NOT NULL,
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT catalog_items_account_id_catalog_id_fkey FOREIGN KEY (account_id, catalog_id) REFERENCES catalogs(account_id, id),
  CONSTRAINT catalog_items_pkey PRIMARY KEY (catalog_id, item_id)
);

CREATE TABLE catalogs (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  name text NOT NULL,
  transfer_id uuid,
  item_count integer NOT NULL DEFAULT 0,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT catalogs_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT catalogs_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT catalogs_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT catalogs_connection_id_key UNIQUE (connection_id),
  CONSTRAINT catalogs_pkey PRIMARY KEY (id)
);

CREATE TABLE clicks (
  account_id uuid NOT NULL,
  click_id text NOT NULL,
  campaign_id bigint NOT NULL,
  partner_id bigint NOT NULL,
  ad_id bigint,
  event_date timestamp with time zone NOT NULL,
  ip_address inet,
  user_agent text,
  referring_url text,
  landing_page_url text,
  sub_id1 text,
  sub_id2 text,
  sub_id3 text,
  transfer_id uuid,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT clicks_click_id_check CHECK (((length(click_id) >= 1) AND (length(click_id) <= 128))),
  CONSTRAINT clicks_pkey PRIMARY KEY (account_id, click_id)
);

CREATE TABLE connections (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  name text NOT NULL,
  direction text NOT NULL,
  data_type text NOT NULL,
  method text NOT NULL,
  methodology text NOT NULL,
  credential_id uuid,
  status text NOT NULL DEFAULT 'active'::text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  status_changed_at timestamp with time zone NOT NULL DEFAULT now(),
  folder text NOT NULL,
  mailbox text,
  retention_days integer,
  result_retention_days integer,
  CONSTRAINT connections_account_id_credential_id_fkey FOREIGN KEY (account_id, credential_id) REFERENCES credentials(account_id, id),
  CONSTRAINT connections_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT connections_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT connections_data_type_check CHECK ((data_type = ANY (ARRAY['conversions'::text, 'action_modifications'::text, 'clicks'::text, 'product_catalog'::text, 'reports'::text, 'performance_bonus_detail'::text]))),
  CONSTRAINT connections_direction_check CHECK ((direction = ANY (ARRAY['inbound'::text, 'outbound'::text]))),
  CONSTRAINT connections_folder_check CHECK ((folder ~ '^[a-z0-9][a-z0-9._-]{0,63}$'::text)),
  CONSTRAINT connections_mailbox_check CHECK ((mailbox ~ '^[a-z0-9][a-z0-9._-]{0,79}$'::text)),
  CONSTRAINT connections_mailbox_key UNIQUE (mailbox),
  CONSTRAINT connections_method_check CHECK ((method = ANY (ARRAY['sftp'::text, 'ftp'::text, 'email'::text]))),
  CONSTRAINT connections_methodology_check CHECK ((methodology = ANY (ARRAY['push_to_platform'::text, 'pull_from_third_party'::text, 'pull_from_platform'::text]))),
  CONSTRAINT connections_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
  CONSTRAINT connections_pkey PRIMARY KEY (id),
  CONSTRAINT connections_result_retention_days_check CHECK (((result_retention_days >= 1) AND (result_retention_days <= 36500))),
  CONSTRAINT connections_retention_days_check CHECK (((retention_days >= 1) AND (retention_days <= 36500))),
  CONSTRAINT connections_status_check CHECK ((status = ANY (ARRAY['active'::text, 'disabled'::text])))
);
CREATE UNIQUE INDEX connections_account_folder ON connections USING btree (account_id, folder);
CREATE UNIQUE INDEX connections_account_name ON connections USING btree (account_id, lower(name));
CREATE INDEX connections_credential ON connections USING btree (credential_id);
CREATE TRIGGER connections_no_delete BEFORE DELETE ON connections FOR EACH ROW EXECUTE FUNCTION connections_no_delete();

CREATE TABLE credentials (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  name text NOT NULL,
  kind text NOT NULL,
  username text NOT NULL,
  password_hash text,
  public_key text,
  key_type text,
  key_bits integer,
  fingerprint text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  last_used_at timestamp with time zone,
  max_sessions integer,
  CONSTRAINT credentials_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT credentials_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT credentials_check CHECK (((kind = 'password'::text) = (password_hash IS NOT NULL))),
  CONSTRAINT credentials_check1 CHECK (((kind = 'public_key'::text) = ((public_key IS NOT NULL) AND (fingerprint IS NOT NULL) AND (key_type IS NOT NULL)))),
  CONSTRAINT credentials_kind_check CHECK ((kind = ANY (ARRAY['password'::text, 'public_key'::text]))),
  CONSTRAINT credentials_max_sessions_check CHECK (((max_sessions >= 1) AND (max_sessions <= 256))),
  CONSTRAINT credentials_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT credentials_pkey PRIMARY KEY (id),
  CONSTRAINT credentials_username_key UNIQUE (username)
);
CREATE UNIQUE INDEX credentials_account_name ON credentials USING btree (account_id, lower(name));

CREATE TABLE deadline_misses (
  connection_id uuid NOT NULL,
  due_at timestamp with time zone NOT NULL,
  account_id uuid NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT deadline_misses_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT deadline_misses_pkey PRIMARY KEY (connection_id, due_at)
);

CREATE TABLE download_links (
  token_hash bytea NOT NULL,
  account_id uuid NOT NULL,
  transfer_id uuid NOT NULL,
  expires_at timestamp with time zone NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  uses integer NOT NULL DEFAULT 0,
  max_uses integer,
  CONSTRAINT download_links_account_id_transfer_id_fkey FOREIGN KEY (account_id, transfer_id) REFERENCES transfers(account_id, id),
  CONSTRAINT download_links_max_uses_check CHECK ((max_uses > 0)),
  CONSTRAINT download_links_pkey PRIMARY KEY (token_hash)
);

CREATE TABLE ferry_migrations (
  id integer NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT ferry_migrations_pkey PRIMARY KEY (id)
);

CREATE UNLOGGED TABLE login_bans (
  key text NOT NULL,
  until timestamp with time zone NOT NULL,
  CONSTRAINT login_bans_pkey PRIMARY KEY (key)
);

CREATE UNLOGGED TABLE login_failures (
  key text NOT NULL,
  at timestamp with time zone NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_key_at ON login_failures USING btree (key, at);

CREATE UNLOGGED TABLE login_sessions (
  id uuid NOT NULL,
  credential_id uuid NOT NULL,
  node text NOT NULL,
  seen_at timestamp with time zone NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT login_sessions_pkey PRIMARY KEY (id)
);
CREATE INDEX login_sessions_credential ON login_sessions USING btree (credential_id, seen_at);
CREATE INDEX login_sessions_node ON login_sessions USING btree (node);

CREATE TABLE notification_subscriptions (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  user_id uuid NOT NULL,
  email text NOT NULL,
  connection_id uuid,
  events text[] NOT NULL DEFAULT '{}'::text[],
  mode text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT notification_subscriptions_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT notification_subscriptions_email_check CHECK (((length(email) >= 3) AND (length(email) <= 254))),
  CONSTRAINT notification_subscriptions_mode_check CHECK ((mode = ANY (ARRAY['immediate'::text, 'digest'::text]))),
  CONSTRAINT notification_subscriptions_pkey PRIMARY KEY (id),
  CONSTRAINT notification_subscriptions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id)
);
CREATE INDEX notification_subscriptions_account ON notification_subscriptions USING btree (account_id);

CREATE TABLE notifications (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  subscription_id uuid NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending'::text,
  error text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  sent_at timestamp with time zone,
  CONSTRAINT notifications_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT notifications_pkey PRIMARY KEY (id),
  CONSTRAINT notifications_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'sent'::text, 'failed'::text]))),
  CONSTRAINT notifications_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES notification_subscriptions(id) ON DELETE CASCADE
);
CREATE INDEX notifications_pending ON notifications USING btree (subscription_id, created_at) WHERE (status = 'pending'::text);

CREATE TABLE partners (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  name text NOT NULL,
  status text NOT NULL DEFAULT 'active'::text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT partners_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT partners_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT partners_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT partners_pkey PRIMARY KEY (id),
  CONSTRAINT partners_status_check CHECK ((status = ANY (ARRAY['active'::text, 'inactive'::text])))
);

CREATE TABLE pgp_keys (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  kind text NOT NULL,
  name text NOT NULL,
  fingerprint text NOT NULL,
  key_id text NOT NULL,
  algorithm text NOT NULL,
  user_ids text[] NOT NULL DEFAULT '{}'::text[],
  public_key text NOT NULL,
  private_key_sealed text,
  expires_at timestamp with time zone,
  status text NOT NULL DEFAULT 'active'::text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT pgp_keys_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT pgp_keys_check CHECK (((kind = 'own'::text) = (private_key_sealed IS NOT NULL))),
  CONSTRAINT pgp_keys_kind_check CHECK ((kind = ANY (ARRAY['own'::text, 'partner'::text]))),
  CONSTRAINT pgp_keys_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
  CONSTRAINT pgp_keys_pkey PRIMARY KEY (id),
  CONSTRAINT pgp_keys_status_check CHECK ((status = ANY (ARRAY['active'::text, 'retired'::text])))
);
CREATE UNIQUE INDEX pgp_keys_account_fingerprint ON pgp_keys USING btree (account_id, fingerprint);

CREATE TABLE promo_codes (
  account_id uuid NOT NULL,
  code text NOT NULL,
  partner_id bigint NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT promo_codes_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT promo_codes_account_id_partner_id_fkey FOREIGN KEY (account_id, partner_id) REFERENCES partners(account_id, id),
  CONSTRAINT promo_codes_code_check CHECK (((code = upper(code)) AND ((length(code) >= 1) AND (length(code) <= 64)))),
  CONSTRAINT promo_codes_pkey PRIMARY KEY (account_id, code)
);

CREATE TABLE pulled_files (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  path text NOT NULL,
  size bigint NOT NULL,
  mtime timestamp with time zone NOT NULL,
  transfer_id uuid NOT NULL,
  pull_id uuid NOT NULL,
  deleted_at timestamp with time zone,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT pulled_files_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT pulled_files_account_id_transfer_id_fkey FOREIGN KEY (account_id, transfer_id) REFERENCES transfers(account_id, id),
  CONSTRAINT pulled_files_connection_id_path_size_mtime_key UNIQUE (connection_id, path, size, mtime),
  CONSTRAINT pulled_files_pkey PRIMARY KEY (id)
);

CREATE TABLE pulls (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  trigger text NOT NULL,
  status text NOT NULL DEFAULT 'pending'::text,
  files_found integer,
  files_taken integer,
  files_waiting integer,
  error_code text,
  error text,
  host_key text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  started_at timestamp with time zone,
  heartbeat_at timestamp with time zone,
  finished_at timestamp with time zone,
  CONSTRAINT pulls_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT pulls_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT pulls_pkey PRIMARY KEY (id),
  CONSTRAINT pulls_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'running'::text, 'succeeded'::text, 'failed'::text]))),
  CONSTRAINT pulls_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'manual'::text])))
);
CREATE INDEX pulls_connection ON pulls USING btree (connection_id, id);
CREATE UNIQUE INDEX pulls_one_open ON pulls USING btree (connection_id) WHERE (status = ANY (ARRAY['pending'::text, 'running'::text]));

CREATE TABLE report_runs (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  period_start timestamp with time zone NOT NULL,
  period_end timestamp with time zone NOT NULL,
  trigger text NOT NULL,
  status text NOT NULL DEFAULT 'pending'::text,
  transfer_id uuid,
  rows integer,
  error text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  finished_at timestamp with time zone,
  CONSTRAINT report_runs_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT report_runs_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT report_runs_account_id_transfer_id_fkey FOREIGN KEY (account_id, transfer_id) REFERENCES transfers(account_id, id),
  CONSTRAINT report_runs_check CHECK ((period_end > period_start)),
  CONSTRAINT report_runs_pkey PRIMARY KEY (id),
  CONSTRAINT report_runs_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'generated'::text, 'failed'::text]))),
  CONSTRAINT report_runs_trigger_check CHECK ((trigger = ANY (ARRAY['schedule'::text, 'manual'::text])))
);
CREATE INDEX report_runs_connection ON report_runs USING btree (connection_id, id);
CREATE UNIQUE INDEX report_runs_scheduled ON report_runs USING btree (connection_id, period_start) WHERE (trigger = 'schedule'::text);

CREATE TABLE result_files (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  transfer_id uuid NOT NULL,
  kind text NOT NULL,
  file_name text NOT NULL,
  store_key text,
  size bigint NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT result_files_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT result_files_account_id_transfer_id_fkey FOREIGN KEY (account_id, transfer_id) REFERENCES transfers(account_id, id),
  CONSTRAINT result_files_file_name_check CHECK (((length(file_name) >= 1) AND (length(file_name) <= 300))),
  CONSTRAINT result_files_kind_check CHECK ((kind = ANY (ARRAY['receipt'::text, 'summary'::text, 'errors'::text]))),
  CONSTRAINT result_files_pkey PRIMARY KEY (id),
  CONSTRAINT result_files_transfer_id_kind_key UNIQUE (transfer_id, kind)
);
CREATE INDEX result_files_connection_name ON result_files USING btree (connection_id, file_name, id DESC);
CREATE INDEX result_files_listed ON result_files USING btree (connection_id, file_name, id DESC) WHERE (store_key IS NOT NULL);
CREATE INDEX result_files_store_key ON result_files USING btree (store_key) WHERE (store_key IS NOT NULL);
CREATE INDEX result_files_stored_age ON result_files USING btree (connection_id, created_at) WHERE (store_key IS NOT NULL);
CREATE TRIGGER result_files_storage_use AFTER INSERT OR DELETE ON result_files FOR EACH ROW EXECUTE FUNCTION storage_use_track('results');
CREATE TRIGGER result_files_storage_use_update AFTER UPDATE OF store_key, size ON result_files FOR EACH ROW WHEN (((old.store_key IS DISTINCT FROM new.store_key) OR (old.size <> new.size))) EXECUTE FUNCTION storage_use_track('results');

CREATE TABLE server_secrets (
  name text NOT NULL,
  sealed text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT server_secrets_pkey PRIMARY KEY (name)
);

CREATE TABLE sessions (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  user_id uuid NOT NULL,
  token_hash bytea NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  last_seen_at timestamp with time zone NOT NULL DEFAULT now(),
  expires_at timestamp with time zone NOT NULL,
  ended_at timestamp with time zone,
  ip text,
  CONSTRAINT sessions_account_id_user_id_fkey FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id),
  CONSTRAINT sessions_pkey PRIMARY KEY (id),
  CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX sessions_user ON sessions USING btree (user_id);

CREATE TABLE staged_files (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  file_name text NOT NULL,
  store_key text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  credential_id uuid,
  remote_ip inet,
  protocol text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  client_mtime timestamp with time zone,
  CONSTRAINT staged_files_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT staged_files_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT staged_files_connection_id_file_name_key UNIQUE (connection_id, file_name),
  CONSTRAINT staged_files_file_name_check CHECK (((length(file_name) >= 1) AND (length(file_name) <= 255))),
  CONSTRAINT staged_files_pkey PRIMARY KEY (id)
);
CREATE TRIGGER staged_files_storage_use AFTER INSERT OR DELETE ON staged_files FOR EACH ROW EXECUTE FUNCTION storage_use_track('staged');
CREATE TRIGGER staged_files_storage_use_update AFTER UPDATE OF store_key, size ON staged_files FOR EACH ROW WHEN (((old.store_key IS DISTINCT FROM new.store_key) OR (old.size <> new.size))) EXECUTE FUNCTION storage_use_track('staged');

CREATE TABLE storage_changes (
  id bigint NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  kind text NOT NULL,
  files integer NOT NULL,
  bytes bigint NOT NULL,
  CONSTRAINT storage_changes_pkey PRIMARY KEY (id)
);
CREATE INDEX storage_changes_account ON storage_changes USING btree (account_id);
CREATE INDEX storage_changes_connection ON storage_changes USING btree (connection_id);

CREATE TABLE storage_use (
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  kind text NOT NULL,
  files bigint NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0,
  CONSTRAINT storage_use_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT storage_use_kind_check CHECK ((kind = ANY (ARRAY['inbound'::text, 'staged'::text, 'results'::text, 'outbound'::text]))),
  CONSTRAINT storage_use_pkey PRIMARY KEY (connection_id, kind)
);
CREATE INDEX storage_use_account ON storage_use USING btree (account_id);

CREATE TABLE tracker_payouts (
  account_id uuid NOT NULL,
  tracker_id bigint NOT NULL,
  partner_id bigint NOT NULL,
  payout_type text NOT NULL,
  payout_value numeric(14,4) NOT NULL,
  CONSTRAINT tracker_payouts_account_id_partner_id_fkey FOREIGN KEY (account_id, partner_id) REFERENCES partners(account_id, id),
  CONSTRAINT tracker_payouts_account_id_tracker_id_fkey FOREIGN KEY (account_id, tracker_id) REFERENCES action_trackers(account_id, id),
  CONSTRAINT tracker_payouts_check CHECK (((payout_type = 'fixed'::text) OR (payout_value <= (100)::numeric))),
  CONSTRAINT tracker_payouts_payout_type_check CHECK ((payout_type = ANY (ARRAY['percent'::text, 'fixed'::text]))),
  CONSTRAINT tracker_payouts_payout_value_check CHECK ((payout_value >= (0)::numeric)),
  CONSTRAINT tracker_payouts_pkey PRIMARY KEY (tracker_id, partner_id)
);

CREATE TABLE transfers (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  direction text NOT NULL,
  file_name text NOT NULL,
  store_key text,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  status text NOT NULL,
  credential_id uuid,
  protocol text NOT NULL,
  remote_ip inet,
  duplicate_of uuid,
  error text,
  download_count integer NOT NULL DEFAULT 0,
  first_downloaded_at timestamp with time zone,
  last_downloaded_at timestamp with time zone,
  hidden_at timestamp with time zone,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  rows_total integer,
  rows_ok integer,
  rows_error integer,
  rows_duplicate integer,
  validate_only boolean NOT NULL DEFAULT false,
  attempts integer NOT NULL DEFAULT 0,
  processing_started_at timestamp with time zone,
  processed_at timestamp with time zone,
  delivered_at timestamp with time zone,
  client_mtime timestamp with time zone,
  reprocess_of uuid,
  CONSTRAINT transfers_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT transfers_account_id_credential_id_fkey FOREIGN KEY (account_id, credential_id) REFERENCES credentials(account_id, id),
  CONSTRAINT transfers_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT transfers_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT transfers_direction_check CHECK ((direction = ANY (ARRAY['inbound'::text, 'outbound'::text]))),
  CONSTRAINT transfers_duplicate_of_fkey FOREIGN KEY (duplicate_of) REFERENCES transfers(id),
  CONSTRAINT transfers_file_name_check CHECK (((length(file_name) >= 1) AND (length(file_name) <= 255))),
  CONSTRAINT transfers_pkey PRIMARY KEY (id),
  CONSTRAINT transfers_protocol_check CHECK ((protocol = ANY (ARRAY['sftp'::text, 'ftp'::text, 'email'::text, 'http'::text, 'pull'::text, 'schedule'::text, 'manual'::text]))),
  CONSTRAINT transfers_reprocess_of_fkey FOREIGN KEY (reprocess_of) REFERENCES transfers(id),
  CONSTRAINT transfers_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
  CONSTRAINT transfers_size_check CHECK ((size >= 0)),
  CONSTRAINT transfers_status_check CHECK ((status = ANY (ARRAY['received'::text, 'processing'::text, 'processed'::text, 'partial'::text, 'rejected'::text, 'validated'::text, 'failed'::text, 'duplicate'::text, 'generated'::text, 'delivered'::text, 'delivery_failed'::text, 'downloaded'::text])))
);
CREATE INDEX transfers_connection ON transfers USING btree (connection_id, id);
CREATE INDEX transfers_connection_name ON transfers USING btree (connection_id, file_name, id DESC);
CREATE INDEX transfers_connection_sha256 ON transfers USING btree (connection_id, sha256);
CREATE INDEX transfers_listed ON transfers USING btree (connection_id, file_name, id DESC) WHERE ((store_key IS NOT NULL) AND (hidden_at IS NULL));
CREATE INDEX transfers_reprocess_of ON transfers USING btree (reprocess_of) WHERE (reprocess_of IS NOT NULL);
CREATE INDEX transfers_store_key ON transfers USING btree (store_key) WHERE (store_key IS NOT NULL);
CREATE INDEX transfers_stored_age ON transfers USING btree (connection_id, created_at) WHERE (store_key IS NOT NULL);
CREATE TRIGGER transfers_storage_use AFTER INSERT OR DELETE ON transfers FOR EACH ROW EXECUTE FUNCTION storage_use_track_transfers();
CREATE TRIGGER transfers_storage_use_update AFTER UPDATE OF store_key, size ON transfers FOR EACH ROW WHEN (((old.store_key IS DISTINCT FROM new.store_key) OR (old.size <> new.size))) EXECUTE FUNCTION storage_use_track_transfers();

CREATE TABLE users (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  login text NOT NULL,
  password_hash text NOT NULL,
  role text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  disabled_at timestamp with time zone,
  password_changed_at timestamp with time zone,
  account_role text NOT NULL,
  CONSTRAINT users_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT users_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT users_account_role_check CHECK ((account_role = ANY (ARRAY['admin'::text, 'member'::text]))),
  CONSTRAINT users_login_check CHECK (((login = lower(login)) AND ((length(login) >= 1) AND (length(login) <= 200)))),
  CONSTRAINT users_login_key UNIQUE (login),
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'member'::text])))
);

CREATE TABLE webhook_deliveries (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  endpoint_id uuid NOT NULL,
  event_id text NOT NULL,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending'::text,
  attempts integer NOT NULL DEFAULT 0,
  response_code integer,
  last_error text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  last_attempt_at timestamp with time zone,
  delivered_at timestamp with time zone,
  CONSTRAINT webhook_deliveries_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT webhook_deliveries_endpoint_id_fkey FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints(id),
  CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
  CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'succeeded'::text, 'failed'::text])))
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries USING btree (endpoint_id, created_at DESC);

CREATE TABLE webhook_endpoints (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  url text NOT NULL,
  description text NOT NULL DEFAULT ''::text,
  events text[] NOT NULL DEFAULT '{}'::text[],
  secret_sealed text NOT NULL,
  previous_secret_sealed text,
  previous_secret_until timestamp with time zone,
  status text NOT NULL DEFAULT 'active'::text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT webhook_endpoints_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT webhook_endpoints_description_check CHECK ((length(description) <= 200)),
  CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
  CONSTRAINT webhook_endpoints_status_check CHECK ((status = ANY (ARRAY['active'::text, 'disabled'::text]))),
  CONSTRAINT webhook_endpoints_url_check CHECK (((length(url) >= 8) AND (length(url) <= 2000)))
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints USING btree (account_id);

CREATE OR REPLACE FUNCTION connections_no_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  RAISE EXCEPTION 'connections cannot be deleted; disable them instead' USING ERRCODE = 'restrict_violation';
END $function$;

CREATE OR REPLACE FUNCTION storage_use_track()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.store_key IS NOT NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (OLD.account_id, OLD.connection_id, TG_ARGV[0], -1, -OLD.size);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.store_key IS NOT NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (NEW.account_id, NEW.connection_id, TG_ARGV[0], 1, NEW.size);
  END IF;
  RETURN NULL;
END $function$;

CREATE OR REPLACE FUNCTION storage_use_track_transfers()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.store_key IS NOT NULL AND OLD.reprocess_of IS NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (OLD.account_id, OLD.connection_id, OLD.direction, -1, -OLD.size);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.store_key IS NOT NULL AND NEW.reprocess_of IS NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (NEW.account_id, NEW.connection_id, NEW.direction, 1, NEW.size);
  END IF;
  RETURN NULL;
END $function$;
