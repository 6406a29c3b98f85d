-- Attachments: uploaded files, published only once scanned. An attachment belongs to
-- its uploader until a message carries it; room_id and message_id are then set, once,
-- in the same transaction as the message (an attachment is never on two messages).
CREATE TABLE attachments (
    id          uuid PRIMARY KEY,
    uploader_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    room_id     uuid REFERENCES rooms (id) ON DELETE CASCADE,
    message_id  uuid REFERENCES messages (id) ON DELETE SET NULL,
    filename    text NOT NULL,
    mime_type   text NOT NULL,
    size        bigint NOT NULL,
    -- Server-generated keys of the blob and its thumbnail (empty: none).
    blob_key    text NOT NULL,
    thumb_key   text NOT NULL DEFAULT '',
    width       integer NOT NULL DEFAULT 0,
    height      integer NOT NULL DEFAULT 0,
    -- Order within its message (the order the sender listed them).
    position    integer NOT NULL DEFAULT 0,
    -- clean | unscanned (no scanner configured); nothing else is ever stored.
    scan_status text NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_uploader ON attachments (uploader_id, created_at);
