-- Full-text search (issue 6): an FTS5 index over the terms of persist/search_text.go,
-- the same terms Postgres indexes (migrations/postgres/0003_search.sql). Column w
-- holds each chunk's key in order (phrases match consecutive keys), column p the
-- other terms (parts, words, the link marker). Terms are encoded as tokens of
-- [a-z0-9_] (persist.ftsToken) that the tokenizer keeps whole.
--
-- The table is external-content: its content is the view messages_search_src, which
-- computes both columns from messages with the functions the store registers on
-- its connections (chatd_search_w, chatd_search_p; deterministic), so nothing is
-- stored twice and `rebuild` can recompute the index. Triggers keep it in step with
-- messages in the writing transaction: a message is searchable once committed, an
-- edit is searched by its new words only, and a deleted message has no terms.
-- Rows are tied by messages' rowid; the store never runs VACUUM (which may renumber
-- it), and INSERT INTO messages_fts(messages_fts) VALUES ('rebuild') mends the index
-- if anyone does.

CREATE VIEW messages_search_src AS
    SELECT rowid AS rid,
        chatd_search_w(CASE WHEN deleted THEN '' ELSE content END) AS w,
        chatd_search_p(CASE WHEN deleted THEN '' ELSE content END) AS p
    FROM messages;

CREATE VIRTUAL TABLE messages_fts USING fts5(
    w, p,
    content = 'messages_search_src', content_rowid = 'rid',
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);

INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, w, p) VALUES (new.rowid,
        chatd_search_w(CASE WHEN new.deleted THEN '' ELSE new.content END),
        chatd_search_p(CASE WHEN new.deleted THEN '' ELSE new.content END));
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, w, p) VALUES ('delete', old.rowid,
        chatd_search_w(CASE WHEN old.deleted THEN '' ELSE old.content END),
        chatd_search_p(CASE WHEN old.deleted THEN '' ELSE old.content END));
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, deleted ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, w, p) VALUES ('delete', old.rowid,
        chatd_search_w(CASE WHEN old.deleted THEN '' ELSE old.content END),
        chatd_search_p(CASE WHEN old.deleted THEN '' ELSE old.content END));
    INSERT INTO messages_fts (rowid, w, p) VALUES (new.rowid,
        chatd_search_w(CASE WHEN new.deleted THEN '' ELSE new.content END),
        chatd_search_p(CASE WHEN new.deleted THEN '' ELSE new.content END));
END;
