-- Attachments: uploaded files, published only once scanned. An attachment belongs to
-- its uploader until a message carries it; room_id and message_id are then set, once,
-- in the same transaction as the message (an attachment is never on two messages).
CREATE TABLE attachments (
    id          TEXT PRIMARY KEY,
    uploader_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id     TEXT REFERENCES rooms (id) ON DELETE CASCADE,
    message_id  TEXT REFERENCES messages (id) ON DELETE SET NULL,
    filename    TEXT NOT NULL,
    mime_type   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    -- Server-generated keys of the blob and its thumbnail (empty: none).
    blob_key    TEXT NOT NULL,
    thumb_key   TEXT NOT NULL DEFAULT '',
    width       INTEGER NOT NULL DEFAULT 0,
    height      INTEGER NOT NULL DEFAULT 0,
    -- Order within its message (the order the sender listed them).
    position    INTEGER NOT NULL DEFAULT 0,
    -- clean | unscanned (no scanner configured); nothing else is ever stored.
    scan_status TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_uploader ON attachments (uploader_id, created_at);
