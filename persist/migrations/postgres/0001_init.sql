-- chatd schema, PostgreSQL. Times are BIGINT Unix milliseconds (chat.Time): the
-- contract's precision, compared exactly by search and pagination.

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    username       text NOT NULL,
    display_name   text NOT NULL,
    avatar_url     text NOT NULL DEFAULT '',
    status         text NOT NULL DEFAULT 'online', -- the chosen status
    status_message text NOT NULL DEFAULT '',
    password_hash  text NOT NULL,
    created_at     bigint NOT NULL,
    last_seen      bigint
);
-- Usernames are unique case-insensitively; the pattern-ops twins serve prefix search
-- whatever the database's collation.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_username_prefix ON users (lower(username) text_pattern_ops);
CREATE INDEX users_display_name_prefix ON users (lower(display_name) text_pattern_ops);

CREATE TABLE revoked_tokens (
    token_id   text PRIMARY KEY,
    expires_at bigint NOT NULL
);
CREATE INDEX revoked_tokens_expires ON revoked_tokens (expires_at);

CREATE TABLE rooms (
    id              uuid PRIMARY KEY,
    name            text NOT NULL DEFAULT '',
    description     text NOT NULL DEFAULT '',
    type            text NOT NULL CHECK (type IN ('public', 'private', 'direct')),
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      bigint NOT NULL,
    -- "<smaller id>:<larger id>" for direct rooms: one room per pair, whoever asks first.
    dm_key          text UNIQUE,
    -- The fence of the group commit: the owner's epoch and the last committed seq.
    owner_epoch     bigint NOT NULL DEFAULT 0,
    owner_node      text NOT NULL DEFAULT '',
    last_seq        bigint NOT NULL DEFAULT 0,
    last_message_at bigint
);
CREATE INDEX rooms_public ON rooms (id) WHERE type = 'public';

CREATE TABLE members (
    room_id              uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role                 text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    level                text NOT NULL CHECK (level IN ('all', 'mentions', 'muted')),
    joined_at            bigint NOT NULL,
    last_read_message_id uuid,
    last_read_seq        bigint NOT NULL DEFAULT 0,
    read_at              bigint,
    muted_until          bigint, -- 9223372036854775807 (chat.Forever): no end
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX members_user ON members (user_id, room_id);

CREATE TABLE messages (
    id            uuid PRIMARY KEY,
    room_id       uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    seq           bigint NOT NULL,
    sender_id     uuid NOT NULL REFERENCES users (id),
    type          text NOT NULL CHECK (type IN ('text', 'image', 'file', 'system')),
    content       text NOT NULL,
    content_html  text NOT NULL DEFAULT '',
    parent_id     uuid REFERENCES messages (id) ON DELETE CASCADE,
    client_msg_id text,
    created_at    bigint NOT NULL,
    edited_at     bigint,
    deleted       boolean NOT NULL DEFAULT false,
    -- Full-text search (the 'simple' configuration: no stemming, any language).
    search        tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED,
    -- Paging by seq, and the store's half of the fence: one message per (room, seq).
    CONSTRAINT messages_room_seq_key UNIQUE (room_id, seq),
    -- Idempotent sends: a client_msg_id is unique per sender, forever.
    CONSTRAINT messages_client_msg_id_key UNIQUE (sender_id, client_msg_id)
);
CREATE INDEX messages_parent ON messages (parent_id, seq) WHERE parent_id IS NOT NULL;
CREATE INDEX messages_room_time ON messages (room_id, created_at);
CREATE INDEX messages_search ON messages USING gin (search);

CREATE TABLE reactions (
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    emoji      text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (message_id, user_id, emoji)
);

CREATE TABLE pins (
    room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    pinned_by  uuid NOT NULL REFERENCES users (id),
    pinned_at  bigint NOT NULL,
    PRIMARY KEY (room_id, message_id)
);
CREATE INDEX pins_message ON pins (message_id);

CREATE TABLE blocks (
    blocker_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at bigint NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE TABLE reports (
    id          uuid PRIMARY KEY,
    room_id     uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_id  uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    reporter_id uuid NOT NULL REFERENCES users (id),
    reason      text NOT NULL,
    status      text NOT NULL CHECK (status IN ('open', 'resolved', 'dismissed')),
    created_at  bigint NOT NULL
);
CREATE INDEX reports_room ON reports (room_id, created_at DESC, id DESC);

CREATE TABLE invites (
    code       text PRIMARY KEY,
    room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_by uuid NOT NULL REFERENCES users (id),
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    max_uses   integer, -- NULL: unlimited
    uses       integer NOT NULL DEFAULT 0,
    revoked    boolean NOT NULL DEFAULT false
);
CREATE INDEX invites_room ON invites (room_id);

CREATE TABLE notifications (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       text NOT NULL,
    room_id    uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    message_id uuid,
    actor_id   uuid NOT NULL REFERENCES users (id),
    content    text NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    is_read    boolean NOT NULL DEFAULT false
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_created ON notifications (created_at);
