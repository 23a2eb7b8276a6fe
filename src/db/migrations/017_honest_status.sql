-- Statuses that tell the truth at a glance, one vocabulary everywhere (API, CLI, UI, summary file):
-- `partial`  = some rows taken, some refused (was `processed_with_errors`, which also covered the next one);
-- `rejected` = every row refused (the file was read, nothing applied);
-- `delivery_failed` = a generated file that could not be delivered (email or the customer's server; the
--                     latest attempt's reason is in `error`, and the delivery is retried).
ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
UPDATE transfers SET status = CASE WHEN rows_ok > 0 THEN 'partial' ELSE 'rejected' END
  WHERE status = 'processed_with_errors';
UPDATE transfers SET status = 'delivery_failed'
  WHERE status = 'generated' AND error LIKE 'Delivery%failed:%';
ALTER TABLE transfers ADD CONSTRAINT transfers_status_check
  CHECK (status IN ('received', 'processing', 'processed', 'partial', 'rejected', 'validated', 'failed',
                    'duplicate', 'generated', 'delivered', 'delivery_failed', 'downloaded'));
