-- Account controls: API tokens expire and can be listed and revoked; users can be disabled and change their
-- password (which ends their other sessions).
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN revoked_by text;
-- Existing tokens keep working: they were made without an expiry, and only the administrator may do that now.
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;

-- Download links sent by email work a limited number of times (a forwarded mail is not a public link for
-- ever); links made before keep working until they expire.
ALTER TABLE download_links ADD COLUMN uses integer NOT NULL DEFAULT 0;
ALTER TABLE download_links ADD COLUMN max_uses integer CHECK (max_uses > 0);

-- A generated file says how its run started: on the schedule, or by hand ("run now").
ALTER TABLE transfers DROP CONSTRAINT transfers_protocol_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_protocol_check
  CHECK (protocol IN ('sftp', 'ftp', 'email', 'http', 'pull', 'schedule', 'manual'));

-- The modification time a client set on a file it uploaded (SFTP SETSTAT/FSETSTAT, FTP MFMT), shown in
-- listings instead of the time of receipt, so sync tools (rclone) see the file unchanged.
ALTER TABLE transfers ADD COLUMN client_mtime timestamptz;
ALTER TABLE staged_files ADD COLUMN client_mtime timestamptz;
