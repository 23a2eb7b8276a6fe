-- The account's whole audit trail (the audit page, GET /api/v1/audit): a page of an account's events in id
-- order (time order: ids are UUIDv7) whatever the filter, without reading other accounts' events. The object
-- index (account_id, object_type, object_id, id) serves one object's trail only.
CREATE INDEX audit_events_account ON audit_events (account_id, id);
