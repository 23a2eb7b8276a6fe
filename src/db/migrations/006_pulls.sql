-- Pull from a third party: Ferry logs in to a customer's server on a schedule and takes the files that match.

-- One row per pull: its outcome is the connection's health (last pull, files found and taken, the error in
-- words). At most one pull of a connection is pending or running at a time (the partial unique index), so
-- several Ferry processes scheduling at once make one.
CREATE TABLE pulls (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'succeeded', 'failed')),
  files_found integer,
  files_taken integer,
  files_waiting integer,
  error_code text,
  error text,
  -- The server's host key fingerprint as seen by this pull (also when it did not match).
  host_key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  -- Updated while the pull runs: a running pull whose heartbeat stopped lost its process and is failed.
  heartbeat_at timestamptz,
  finished_at timestamptz,
  UNIQUE (account_id, id),
  FOREIGN KEY (account_id, connection_id) REFERENCES connections (account_id, id)
);
CREATE INDEX pulls_connection ON pulls (connection_id, id);
CREATE UNIQUE INDEX pulls_one_open ON pulls (connection_id) WHERE status IN ('pending', 'running');

-- Remote files taken: a path is taken once for each (size, modification time), so nothing is pulled twice and a
-- file replaced on the server is taken again.
CREATE TABLE pulled_files (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  path text NOT NULL,
  size bigint NOT NULL,
  mtime timestamptz NOT NULL,
  transfer_id uuid NOT NULL,
  pull_id uuid NOT NULL,
  deleted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (connection_id, path, size, mtime),
  FOREIGN KEY (account_id, connection_id) REFERENCES connections (account_id, id),
  FOREIGN KEY (account_id, transfer_id) REFERENCES transfers (account_id, id)
);

-- The key pair Ferry logs in with to an account's servers (the user installs the public key there). The
-- private key is sealed with the master key like every secret Ferry must read back.
CREATE TABLE account_keys (
  account_id uuid PRIMARY KEY REFERENCES accounts (id),
  public_key text NOT NULL,
  fingerprint text NOT NULL,
  private_key_sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
