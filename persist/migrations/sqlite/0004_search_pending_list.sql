-- Nothing to do on SQLite: 0004 tunes the Postgres search index's pending list.
SELECT 1;
