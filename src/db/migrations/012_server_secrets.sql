-- What every Ferry node must share and no node may keep to itself: the SSH host keys and the FTPS
-- certificate (clients that pinned them must not see them change between nodes behind a load balancer), and a
-- check that every node has the same master key. Sealed with the master key (AES-256-GCM).
CREATE TABLE server_secrets (
  name text PRIMARY KEY,
  sealed text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
