-- Accounts, users, API tokens, credentials, connections and the audit trail.
-- Every row that belongs to an account carries account_id; foreign keys between an account's rows include
-- account_id, so the database itself refuses a connection that points at another account's credential.

CREATE TABLE accounts (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  type text NOT NULL CHECK (type IN ('brand', 'partner')),
  time_zone text NOT NULL DEFAULT 'UTC',
  currency text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A person who signs in to the web UI. role 'admin' is the platform administrator.
CREATE TABLE users (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  login text NOT NULL CHECK (login = lower(login) AND length(login) BETWEEN 1 AND 200),
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (login),
  UNIQUE (account_id, id)
);

-- Bearer tokens. Only the SHA-256 of the token is kept: tokens are 256-bit random, so a fast hash is safe.
CREATE TABLE api_tokens (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  user_id uuid,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('admin', 'member')),
  token_hash bytea NOT NULL UNIQUE,
  prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- What a client logs in with over SFTP/FTP. A password is kept only as a slow hash; a public key as its
-- canonical OpenSSH form and SHA-256 fingerprint.
CREATE TABLE credentials (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind IN ('password', 'public_key')),
  username text NOT NULL UNIQUE,
  password_hash text,
  public_key text,
  key_type text,
  key_bits integer,
  fingerprint text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  UNIQUE (account_id, id),
  CHECK ((kind = 'password') = (password_hash IS NOT NULL)),
  CHECK ((kind = 'public_key') = (public_key IS NOT NULL AND fingerprint IS NOT NULL AND key_type IS NOT NULL))
);
CREATE UNIQUE INDEX credentials_account_name ON credentials (account_id, lower(name));

-- One configured data feed. Never deleted: status goes between active and disabled.
CREATE TABLE connections (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  data_type text NOT NULL CHECK (data_type IN (
    'conversions', 'action_modifications', 'clicks', 'product_catalog', 'reports', 'performance_bonus_detail')),
  method text NOT NULL CHECK (method IN ('sftp', 'ftp', 'email')),
  methodology text NOT NULL CHECK (methodology IN ('push_to_platform', 'pull_from_third_party', 'pull_from_platform')),
  credential_id uuid,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, credential_id) REFERENCES credentials (account_id, id)
);
CREATE UNIQUE INDEX connections_account_name ON connections (account_id, lower(name));
CREATE INDEX connections_credential ON connections (credential_id);

-- Refuse deletes at the lowest level too: history must stay visible.
CREATE FUNCTION connections_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'connections cannot be deleted; disable them instead' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER connections_no_delete BEFORE DELETE ON connections
  FOR EACH ROW EXECUTE FUNCTION connections_no_delete();

-- Who did what to which object, when and from where. Append-only.
CREATE TABLE audit_events (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'token', 'system')),
  actor_id uuid,
  action text NOT NULL,
  object_type text NOT NULL,
  object_id uuid,
  details jsonb NOT NULL DEFAULT '{}',
  ip inet,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_object ON audit_events (account_id, object_type, object_id, at);
