-- Email notifications (issue 16): a user subscribes to events of one connection or of all (none listed: every
-- event), by email, each at once or in a daily digest. An event makes one notification row per subscription
-- in the transaction that reports it; immediate ones are mailed by a queue job, digests once a day at 08:00
-- in the account's time zone.
CREATE TABLE notification_subscriptions (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  user_id uuid NOT NULL REFERENCES users (id),
  email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  connection_id uuid,
  events text[] NOT NULL DEFAULT '{}',
  mode text NOT NULL CHECK (mode IN ('immediate', 'digest')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_subscriptions_account ON notification_subscriptions (account_id);

CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (id),
  subscription_id uuid NOT NULL REFERENCES notification_subscriptions (id) ON DELETE CASCADE,
  event_type text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX notifications_pending ON notifications (subscription_id, created_at) WHERE status = 'pending';
