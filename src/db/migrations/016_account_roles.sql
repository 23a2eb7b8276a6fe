-- Roles inside an account, apart from the platform role (`role`: 'admin' is the platform administrator).
-- An account's admins manage its users, its API tokens and its settings; its members work with connections,
-- credentials and files. Users and tokens that exist keep every right they had: they become the account's
-- admins. New ones say their role (the code always does; there is no default to fall back on).
ALTER TABLE users ADD COLUMN account_role text NOT NULL DEFAULT 'admin'
  CHECK (account_role IN ('admin', 'member'));
ALTER TABLE users ALTER COLUMN account_role DROP DEFAULT;
ALTER TABLE api_tokens ADD COLUMN account_role text NOT NULL DEFAULT 'admin'
  CHECK (account_role IN ('admin', 'member'));
ALTER TABLE api_tokens ALTER COLUMN account_role DROP DEFAULT;
