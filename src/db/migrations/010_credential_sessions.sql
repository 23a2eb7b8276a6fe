-- A credential's own cap on concurrent SFTP/FTP sessions (parallel clients such as rclone --transfers 16
-- open one each); null: the server's FERRY_MAX_SESSIONS_PER_CREDENTIAL.
ALTER TABLE credentials ADD COLUMN max_sessions integer CHECK (max_sessions BETWEEN 1 AND 256);
