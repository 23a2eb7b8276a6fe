-- Generated from the migrations by `npm run db:dump`; do not edit.

CREATE TABLE accounts (
  id uuid NOT NULL,
  name text NOT NULL,
  type text NOT NULL,
  time_zone text NOT NULL DEFAULT 'UTC'::text,
  currency text NOT NULL DEFAULT 'USD'::text,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT accounts_currency_check CHECK ((currency ~ '^[A-Z]{3}$'::text)),
  CONSTRAINT accounts_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT accounts_pkey PRIMARY KEY (id),
  CONSTRAINT accounts_type_check CHECK ((type = ANY (ARRAY['brand'::text, 'partner'::text])))
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
  CONSTRAINT api_tokens_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT api_tokens_account_id_user_id_fkey FOREIGN KEY (account_id, user_id) REFERENCES users(account_id, id),
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
  object_id uuid,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip inet,
  at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT audit_events_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT audit_events_actor_type_check CHECK ((actor_type = ANY (ARRAY['user'::text, 'token'::text, 'credential'::text, 'system'::text]))),
  CONSTRAINT audit_events_pkey PRIMARY KEY (id)
);
CREATE INDEX audit_events_object ON audit_events USING btree (account_id, object_type, object_id, at);

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
  CONSTRAINT connections_account_id_credential_id_fkey FOREIGN KEY (account_id, credential_id) REFERENCES credentials(account_id, id),
  CONSTRAINT connections_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT connections_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT connections_data_type_check CHECK ((data_type = ANY (ARRAY['conversions'::text, 'action_modifications'::text, 'clicks'::text, 'product_catalog'::text, 'reports'::text, 'performance_bonus_detail'::text]))),
  CONSTRAINT connections_direction_check CHECK ((direction = ANY (ARRAY['inbound'::text, 'outbound'::text]))),
  CONSTRAINT connections_folder_check CHECK ((folder ~ '^[a-z0-9][a-z0-9._-]{0,63}$'::text)),
  CONSTRAINT connections_method_check CHECK ((method = ANY (ARRAY['sftp'::text, 'ftp'::text, 'email'::text]))),
  CONSTRAINT connections_methodology_check CHECK ((methodology = ANY (ARRAY['push_to_platform'::text, 'pull_from_third_party'::text, 'pull_from_platform'::text]))),
  CONSTRAINT connections_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
  CONSTRAINT connections_pkey PRIMARY KEY (id),
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
  CONSTRAINT credentials_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT credentials_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT credentials_check CHECK (((kind = 'password'::text) = (password_hash IS NOT NULL))),
  CONSTRAINT credentials_check1 CHECK (((kind = 'public_key'::text) = ((public_key IS NOT NULL) AND (fingerprint IS NOT NULL) AND (key_type IS NOT NULL)))),
  CONSTRAINT credentials_kind_check CHECK ((kind = ANY (ARRAY['password'::text, 'public_key'::text]))),
  CONSTRAINT credentials_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
  CONSTRAINT credentials_pkey PRIMARY KEY (id),
  CONSTRAINT credentials_username_key UNIQUE (username)
);
CREATE UNIQUE INDEX credentials_account_name ON credentials USING btree (account_id, lower(name));

CREATE TABLE ferry_migrations (
  id integer NOT NULL,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT ferry_migrations_pkey PRIMARY KEY (id)
);

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
  CONSTRAINT staged_files_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT staged_files_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT staged_files_connection_id_file_name_key UNIQUE (connection_id, file_name),
  CONSTRAINT staged_files_file_name_check CHECK (((length(file_name) >= 1) AND (length(file_name) <= 255))),
  CONSTRAINT staged_files_pkey PRIMARY KEY (id)
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
  result_key text,
  download_count integer NOT NULL DEFAULT 0,
  first_downloaded_at timestamp with time zone,
  last_downloaded_at timestamp with time zone,
  hidden_at timestamp with time zone,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  updated_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT transfers_account_id_connection_id_fkey FOREIGN KEY (account_id, connection_id) REFERENCES connections(account_id, id),
  CONSTRAINT transfers_account_id_credential_id_fkey FOREIGN KEY (account_id, credential_id) REFERENCES credentials(account_id, id),
  CONSTRAINT transfers_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT transfers_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT transfers_direction_check CHECK ((direction = ANY (ARRAY['inbound'::text, 'outbound'::text]))),
  CONSTRAINT transfers_duplicate_of_fkey FOREIGN KEY (duplicate_of) REFERENCES transfers(id),
  CONSTRAINT transfers_file_name_check CHECK (((length(file_name) >= 1) AND (length(file_name) <= 255))),
  CONSTRAINT transfers_pkey PRIMARY KEY (id),
  CONSTRAINT transfers_protocol_check CHECK ((protocol = ANY (ARRAY['sftp'::text, 'ftp'::text, 'email'::text, 'http'::text, 'pull'::text, 'schedule'::text]))),
  CONSTRAINT transfers_sha256_check CHECK ((sha256 ~ '^[0-9a-f]{64}$'::text)),
  CONSTRAINT transfers_size_check CHECK ((size >= 0)),
  CONSTRAINT transfers_status_check CHECK ((status = ANY (ARRAY['received'::text, 'processing'::text, 'processed'::text, 'failed'::text, 'duplicate'::text, 'generated'::text, 'delivered'::text, 'downloaded'::text])))
);
CREATE INDEX transfers_connection ON transfers USING btree (connection_id, id);
CREATE INDEX transfers_connection_name ON transfers USING btree (connection_id, file_name, id DESC);
CREATE INDEX transfers_connection_sha256 ON transfers USING btree (connection_id, sha256);

CREATE TABLE users (
  id uuid NOT NULL,
  account_id uuid NOT NULL,
  login text NOT NULL,
  password_hash text NOT NULL,
  role text NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT users_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts(id),
  CONSTRAINT users_account_id_id_key UNIQUE (account_id, id),
  CONSTRAINT users_login_check CHECK (((login = lower(login)) AND ((length(login) >= 1) AND (length(login) <= 200)))),
  CONSTRAINT users_login_key UNIQUE (login),
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'member'::text])))
);

CREATE OR REPLACE FUNCTION connections_no_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  RAISE EXCEPTION 'connections cannot be deleted; disable them instead' USING ERRCODE = 'restrict_violation';
END $function$;
