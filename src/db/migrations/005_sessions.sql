-- Web sessions: a signed-in user of an account. Only the SHA-256 of the cookie's token is stored; a session
-- ends at sign-out, after 12 hours idle or 7 days in all.
CREATE TABLE sessions (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  user_id uuid NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  ip text,
  FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id)
);
CREATE INDEX sessions_user ON sessions (user_id);
