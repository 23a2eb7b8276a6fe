-- An optional storage quota per account: the bytes its received files (inbound transfers still stored, and
-- files uploaded under a temporary name) may take. Null: no quota.
ALTER TABLE accounts ADD COLUMN storage_quota_bytes bigint CHECK (storage_quota_bytes > 0);
