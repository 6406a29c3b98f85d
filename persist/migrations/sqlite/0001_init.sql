-- chatd schema, embedded store (SQLite, STRICT tables). It mirrors
-- migrations/postgres/0001_init.sql: IDs are TEXT (canonical lower-case UUIDs, which
-- sort like PostgreSQL's uuid), booleans INTEGER 0/1, times INTEGER Unix milliseconds
-- (chat.Time: the contract's precision, compared exactly by search and pagination).
-- No tsvector column: search on the embedded store scans.

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    avatar_url     TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'online', -- the chosen status
    status_message TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    last_seen      INTEGER
) STRICT;
-- Usernames are unique case-insensitively.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TABLE revoked_tokens (
    token_id   TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

CREATE TABLE rooms (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL DEFAULT '',
    description     TEXT NOT NULL DEFAULT '',
    type            TEXT NOT NULL CHECK (type IN ('public', 'private', 'direct')),
    created_by      TEXT NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    -- "<smaller id>:<larger id>" for direct rooms: one room per pair, whoever asks first.
    dm_key          TEXT UNIQUE,
    -- The fence of the group commit: the owner's epoch and the last committed seq.
    owner_epoch     INTEGER NOT NULL DEFAULT 0,
    owner_node      TEXT NOT NULL DEFAULT '',
    last_seq        INTEGER NOT NULL DEFAULT 0,
    last_message_at INTEGER
) STRICT;
CREATE INDEX rooms_public ON rooms (id) WHERE type = 'public';

CREATE TABLE members (
    room_id              TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                 TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    level                TEXT NOT NULL CHECK (level IN ('all', 'mentions', 'muted')),
    joined_at            INTEGER NOT NULL,
    last_read_message_id TEXT,
    last_read_seq        INTEGER NOT NULL DEFAULT 0,
    read_at              INTEGER,
    muted_until          INTEGER, -- 9223372036854775807 (chat.Forever): no end
    PRIMARY KEY (room_id, user_id)
) STRICT;
CREATE INDEX members_user ON members (user_id, room_id);

CREATE TABLE messages (
    id            TEXT PRIMARY KEY,
    room_id       TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    sender_id     TEXT NOT NULL REFERENCES users (id),
    type          TEXT NOT NULL CHECK (type IN ('text', 'image', 'file', 'system')),
    content       TEXT NOT NULL,
    content_html  TEXT NOT NULL DEFAULT '',
    parent_id     TEXT REFERENCES messages (id) ON DELETE CASCADE,
    client_msg_id TEXT,
    created_at    INTEGER NOT NULL,
    edited_at     INTEGER,
    deleted       INTEGER NOT NULL DEFAULT 0,
    -- Paging by seq, and the store's half of the fence: one message per (room, seq).
    CONSTRAINT messages_room_seq_key UNIQUE (room_id, seq),
    -- Idempotent sends: a client_msg_id is unique per sender, forever.
    CONSTRAINT messages_client_msg_id_key UNIQUE (sender_id, client_msg_id)
) STRICT;
CREATE INDEX messages_parent ON messages (parent_id, seq) WHERE parent_id IS NOT NULL;
CREATE INDEX messages_room_time ON messages (room_id, created_at);

CREATE TABLE reactions (
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
) STRICT;

CREATE TABLE pins (
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    pinned_by  TEXT NOT NULL REFERENCES users (id),
    pinned_at  INTEGER NOT NULL,
    PRIMARY KEY (room_id, message_id)
) STRICT;
CREATE INDEX pins_message ON pins (message_id);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) STRICT;

CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    room_id     TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_id  TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reporter_id TEXT NOT NULL REFERENCES users (id),
    reason      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'resolved', 'dismissed')),
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX reports_room ON reports (room_id, created_at DESC, id DESC);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_uses   INTEGER, -- NULL: unlimited
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX invites_room ON invites (room_id);

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_id TEXT,
    actor_id   TEXT NOT NULL REFERENCES users (id),
    content    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    is_read    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_created ON notifications (created_at);
