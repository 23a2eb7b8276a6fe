-- "File not received" (issue 16): an inbound connection may expect a file on some weekdays by a local time
-- (details.expectFiles, in the account's time zone). A missed deadline is recorded once here (the key makes
-- the check idempotent across processes and ticks) and raises a file.missing event.
CREATE TABLE deadline_misses (
  connection_id uuid NOT NULL,
  due_at timestamptz NOT NULL,
  account_id uuid NOT NULL REFERENCES accounts (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (connection_id, due_at)
);
