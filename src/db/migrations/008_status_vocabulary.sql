-- One status vocabulary for a received file everywhere (API, CLI, UI, summary file): the Transfer says
-- what its summary says. `processed` = every row taken; `processed_with_errors` = some rows refused (see
-- the errors file; possibly all of them); `validated` = checked only, nothing applied (a validate-only
-- connection); `failed` = the file or, on an all-or-nothing connection, any row refused: nothing applied.
ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
UPDATE transfers SET status = 'validated' WHERE status = 'processed' AND validate_only;
UPDATE transfers SET status = 'processed_with_errors'
  WHERE status = 'processed' AND rows_ok < rows_total;
ALTER TABLE transfers ADD CONSTRAINT transfers_status_check
  CHECK (status IN ('received', 'processing', 'processed', 'processed_with_errors', 'validated', 'failed',
                    'duplicate', 'generated', 'delivered', 'downloaded'));
