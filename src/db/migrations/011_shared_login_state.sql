-- Login failures, bans and open sessions live in the database, so that every Ferry node sees the same: a ban
-- made through one node holds on all of them at once, and a credential's session cap counts its sessions on
-- every node. Unlogged: fast to write, and emptied if PostgreSQL crashes (bans and counts start over then,
-- which is harmless). Times are the database's, the one clock all nodes share.
CREATE UNLOGGED TABLE login_failures (
  key text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);

CREATE UNLOGGED TABLE login_bans (
  key text PRIMARY KEY,
  until timestamptz NOT NULL
);

-- One row per open SFTP/FTP session; each node refreshes its own rows' seen_at, so a node that dies stops
-- counting after a minute and a half.
CREATE UNLOGGED TABLE login_sessions (
  id uuid PRIMARY KEY,
  credential_id uuid NOT NULL,
  node text NOT NULL,
  seen_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX login_sessions_credential ON login_sessions (credential_id, seen_at);
CREATE INDEX login_sessions_node ON login_sessions (node);
