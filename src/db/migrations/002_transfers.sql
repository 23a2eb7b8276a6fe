-- Files through connections. A connection gets a stable folder name (its place in the SFTP/FTP view); every
-- file received or generated is a Transfer, kept forever; files uploaded under a temporary name wait in
-- staged_files until renamed to their final name.

ALTER TABLE connections ADD COLUMN folder text;
UPDATE connections c SET folder = f.folder FROM (
  SELECT id, CASE WHEN row_number() OVER w = 1 THEN base ELSE base || '-' || row_number() OVER w END AS folder
  FROM (SELECT id, account_id,
          coalesce(nullif(trim(BOTH '-' FROM lower(regexp_replace(name, '[^A-Za-z0-9._-]+', '-', 'g'))), ''), 'connection') AS base
        FROM connections) s
  WINDOW w AS (PARTITION BY account_id, base ORDER BY id)
) f WHERE f.id = c.id;
ALTER TABLE connections ALTER COLUMN folder SET NOT NULL;
ALTER TABLE connections ADD CONSTRAINT connections_folder_check CHECK (folder ~ '^[a-z0-9][a-z0-9._-]{0,63}$');
CREATE UNIQUE INDEX connections_account_folder ON connections (account_id, folder);

CREATE TABLE transfers (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  connection_id uuid NOT NULL,
  direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
  store_key text,
  size bigint NOT NULL CHECK (size >= 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  status text NOT NULL CHECK (status IN (
    'received', 'processing', 'processed', 'failed', 'duplicate', 'generated', 'delivered', 'downloaded')),
  -- Who and how: the credential that logged in, the protocol, the client's address.
  credential_id uuid,
  protocol text NOT NULL CHECK (protocol IN ('sftp', 'ftp', 'email', 'http', 'pull', 'schedule')),
  remote_ip inet,
  duplicate_of uuid REFERENCES transfers (id),
  error text,
  result_key text,
  download_count integer NOT NULL DEFAULT 0,
  first_downloaded_at timestamptz,
  last_downloaded_at timestamptz,
  -- Removing a file from inbox/ in a client hides it there; the Transfer stays.
  hidden_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, connection_id) REFERENCES connections (account_id, id),
  FOREIGN KEY (account_id, credential_id) REFERENCES credentials (account_id, id)
);
CREATE INDEX transfers_connection ON transfers (connection_id, id);
CREATE INDEX transfers_connection_sha256 ON transfers (connection_id, sha256);
-- SFTP/FTP stat and open look a file up by name: the newest transfer of that name.
CREATE INDEX transfers_connection_name ON transfers (connection_id, file_name, id DESC);

CREATE TABLE staged_files (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  connection_id uuid NOT NULL,
  file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
  store_key text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  credential_id uuid,
  remote_ip inet,
  protocol text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (connection_id, file_name),
  FOREIGN KEY (account_id, connection_id) REFERENCES connections (account_id, id)
);

-- SFTP/FTP logins act with a credential; the audit trail names it.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_actor_type_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_actor_type_check
  CHECK (actor_type IN ('user', 'token', 'credential', 'system'));
