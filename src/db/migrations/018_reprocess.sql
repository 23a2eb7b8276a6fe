-- Reprocessing (issue 16): a received file processed again is a new transfer of the same stored bytes
-- (`reprocess_of` names the transfer it repeats), so each attempt keeps its own status and results in the
-- history. Attempts share their original's store object: only the original counts its bytes (the counters
-- skip attempts), and retention clears an original only once no attempt still holds the bytes
-- (pipeline/retention.ts), so the bytes are counted exactly while they exist.
ALTER TABLE transfers ADD COLUMN reprocess_of uuid REFERENCES transfers (id);
CREATE INDEX transfers_reprocess_of ON transfers (reprocess_of) WHERE reprocess_of IS NOT NULL;

CREATE OR REPLACE FUNCTION storage_use_track_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.store_key IS NOT NULL AND OLD.reprocess_of IS NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (OLD.account_id, OLD.connection_id, OLD.direction, -1, -OLD.size);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.store_key IS NOT NULL AND NEW.reprocess_of IS NULL THEN
    INSERT INTO storage_changes (account_id, connection_id, kind, files, bytes)
    VALUES (NEW.account_id, NEW.connection_id, NEW.direction, 1, NEW.size);
  END IF;
  RETURN NULL;
END $$;
