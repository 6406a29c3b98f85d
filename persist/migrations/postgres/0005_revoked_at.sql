-- When a token was revoked, so that every node keeps the revocations in memory and
-- reads only the new ones each second instead of the store on every request and
-- WebSocket upgrade. Rows from before this migration count as revoked at 0: a node
-- reads them all when it starts.
ALTER TABLE revoked_tokens ADD COLUMN revoked_at bigint NOT NULL DEFAULT 0;
CREATE INDEX revoked_tokens_revoked_at ON revoked_tokens (revoked_at);
