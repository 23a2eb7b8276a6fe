-- Years of history: bytes kept per connection counted as files come and go (not summed over the whole
-- history at every upload), retention for every kind of file, and the indexes retention and audit expiry use.

-- Files and bytes kept in the store, per connection and kind: the quota check and the storage figures read a
-- few rows instead of summing a connection's whole history. Row triggers on transfers, staged_files and
-- result_files append each change to storage_changes (insert-only: concurrent uploads never wait for each
-- other, and a bulk insert costs one small insert per row); compactStorage (domain/storage.ts) folds those into
-- storage_use every minute. The figures are storage_use plus the changes not yet folded.
-- inbound: received originals still stored; staged: uploads under a temporary name; results: receipt,
-- summary and errors files still stored; outbound: generated files still stored.
CREATE TABLE storage_use (
  account_id uuid NOT NULL REFERENCES accounts (id),
  connection_id uuid NOT NULL,
  kind text NOT NULL CHECK (kind IN ('inbound', 'staged', 'results', 'outbound')),
  files bigint NOT NULL DEFAULT 0,
  bytes bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (connection_id, kind)
);
CREATE INDEX storage_use_account ON storage_use (account_id);

CREATE TABLE storage_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id uuid NOT NULL,
  connection_id uuid NOT NULL,
  kind text NOT NULL,
  files integer NOT NULL,
  bytes bigint NOT NULL
);
CREATE INDEX storage_changes_account ON storage_changes (account_id);
CREATE INDEX storage_changes_connection ON storage_changes (connection_id);

-- Staged and result files: TG_ARGV[0] is their kind. Transfers: their direction.
CREATE FUNCTION storage_use_track() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$;
CREATE FUNCTION storage_use_track_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.store_key IS NOT NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (OLD.account_id, OLD.connection_id, OLD.direction, -1, -OLD.size);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.store_key IS NOT NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (NEW.account_id, NEW.connection_id, NEW.direction, 1, NEW.size);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER transfers_storage_use AFTER INSERT OR DELETE ON transfers
  FOR EACH ROW EXECUTE FUNCTION storage_use_track_transfers();
CREATE TRIGGER transfers_storage_use_update AFTER UPDATE OF store_key, size ON transfers
  FOR EACH ROW WHEN (OLD.store_key IS DISTINCT FROM NEW.store_key OR OLD.size <> NEW.size)
  EXECUTE FUNCTION storage_use_track_transfers();
CREATE TRIGGER staged_files_storage_use AFTER INSERT OR DELETE ON staged_files
  FOR EACH ROW EXECUTE FUNCTION storage_use_track('staged');
CREATE TRIGGER staged_files_storage_use_update AFTER UPDATE OF store_key, size ON staged_files
  FOR EACH ROW WHEN (OLD.store_key IS DISTINCT FROM NEW.store_key OR OLD.size <> NEW.size)
  EXECUTE FUNCTION storage_use_track('staged');

-- Result files lose their bytes to retention too; the record stays.
ALTER TABLE result_files ALTER COLUMN store_key DROP NOT NULL;
CREATE TRIGGER result_files_storage_use AFTER INSERT OR DELETE ON result_files
  FOR EACH ROW EXECUTE FUNCTION storage_use_track('results');
CREATE TRIGGER result_files_storage_use_update AFTER UPDATE OF store_key, size ON result_files
  FOR EACH ROW WHEN (OLD.store_key IS DISTINCT FROM NEW.store_key OR OLD.size <> NEW.size)
  EXECUTE FUNCTION storage_use_track('results');

INSERT INTO storage_use (account_id, connection_id, kind, files, bytes)
  SELECT account_id, connection_id, direction, count(*), sum(size) FROM transfers
  WHERE store_key IS NOT NULL GROUP BY account_id, connection_id, direction;
INSERT INTO storage_use (account_id, connection_id, kind, files, bytes)
  SELECT account_id, connection_id, 'staged', count(*), sum(size) FROM staged_files
  GROUP BY account_id, connection_id;
INSERT INTO storage_use (account_id, connection_id, kind, files, bytes)
  SELECT account_id, connection_id, 'results', count(*), sum(size) FROM result_files
  WHERE store_key IS NOT NULL GROUP BY account_id, connection_id;

-- Retention in days: per account for each kind (null: the server's default), per connection (null: the
-- account's). A file's bytes leave the store that many days after it arrived or was made; its record stays.
ALTER TABLE accounts
  ADD COLUMN inbound_retention_days integer CHECK (inbound_retention_days BETWEEN 1 AND 36500),
  ADD COLUMN result_retention_days integer CHECK (result_retention_days BETWEEN 1 AND 36500),
  ADD COLUMN outbound_retention_days integer CHECK (outbound_retention_days BETWEEN 1 AND 36500);
ALTER TABLE connections
  ADD COLUMN retention_days integer CHECK (retention_days BETWEEN 1 AND 36500),
  ADD COLUMN result_retention_days integer CHECK (result_retention_days BETWEEN 1 AND 36500);

-- Retention walks each connection's oldest stored files; audit expiry the oldest events.
CREATE INDEX transfers_stored_age ON transfers (connection_id, created_at) WHERE store_key IS NOT NULL;
CREATE INDEX result_files_stored_age ON result_files (connection_id, created_at) WHERE store_key IS NOT NULL;
CREATE INDEX audit_events_at ON audit_events (at);
-- The sweep of orphans looks its recent objects up by key.
CREATE INDEX transfers_store_key ON transfers (store_key) WHERE store_key IS NOT NULL;
CREATE INDEX result_files_store_key ON result_files (store_key) WHERE store_key IS NOT NULL;
-- An object's audit trail is read a page at a time in id order (ids are time-ordered).
DROP INDEX audit_events_object;
CREATE INDEX audit_events_object ON audit_events (account_id, object_type, object_id, id);
-- SFTP/FTP listings page through a folder's visible files by name: only the files still stored are in these
-- indexes, so a page costs the same however many expired or hidden files the connection's history holds.
CREATE INDEX transfers_listed ON transfers (connection_id, file_name, id DESC)
  WHERE store_key IS NOT NULL AND hidden_at IS NULL;
CREATE INDEX result_files_listed ON result_files (connection_id, file_name, id DESC) WHERE store_key IS NOT NULL;
