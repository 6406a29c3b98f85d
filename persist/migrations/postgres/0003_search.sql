-- Full-text search (issue 6). The 'simple' parser of 0001 splits URLs, host names,
-- e-mail addresses, versions and identifiers in ways that a query for them does not
-- match, and knows no accents. messages.search becomes the terms of our own
-- tokenizer instead, the rules of persist/search_text.go written in SQL:
--   chatd_search_key(word): fold accents (unaccent), trim separators, lower-case,
--     cut to 200 code points; queries key their words with it, so both sides agree.
--   chatd_search_vector(content): every chunk's key at the chunk's position with
--     weight A (phrases match consecutive keys), plus, at the same position with
--     weight D, its parts, words and camelCase words and the link marker ':link'.
-- Separators are spelt out as code point ranges, not classes, so that the result
-- does not depend on the database's locale. A deleted message has no terms.

CREATE EXTENSION IF NOT EXISTS unaccent;

-- unaccent() is only STABLE (it finds its dictionary through the search path); with
-- the dictionary named explicitly it always gives the same answer, so the wrapper
-- is declared IMMUTABLE, as a generated column requires.
CREATE FUNCTION chatd_search_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, t) $$;

-- The key of text already folded: separators trimmed, lower-cased, cut.
CREATE FUNCTION chatd_search_key_folded(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT left(lower(regexp_replace(t,
    '^[\u0001-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u00bf\u00d7\u00f7\u1680\u2000-\u2bff\u3000-\u303f\ufe00-\ufe0f\ufeff\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\U0001f000-\U0001faff]+|[\u0001-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u00bf\u00d7\u00f7\u1680\u2000-\u2bff\u3000-\u303f\ufe00-\ufe0f\ufeff\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\U0001f000-\U0001faff]+$',
    '', 'g')), 200) $$;

-- The term a query word looks for (persist.searchKey).
CREATE FUNCTION chatd_search_key(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT chatd_search_key_folded(chatd_search_fold(t)) $$;

-- The search vector of a message's content (persist.searchTerms). PL/pgSQL with
-- arrays rather than one SQL query: the set-returning version was planned badly and
-- cost hundreds of milliseconds per message.
CREATE FUNCTION chatd_search_vector(content text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    chunk text;
    k text;
    t text;
    w text;
    cw text;
    pos int := 0;
    seen text[];
    terms text[] := '{}';
BEGIN
    FOREACH chunk IN ARRAY regexp_split_to_array(chatd_search_fold(content),
        '[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+') LOOP
        k := chatd_search_key_folded(chunk);
        CONTINUE WHEN k = '';
        pos := least(pos + 1, 16383);
        seen := ARRAY[k];
        -- parts: cut at separators other than . - _; "www.x" also as "x"
        FOREACH t IN ARRAY regexp_split_to_array(chunk,
            '[\u0001-\u002c\u002f\u003a-\u0040\u005b-\u005e\u0060\u007b-\u00bf\u00d7\u00f7\u1680\u2000-\u2bff\u3000-\u303f\ufe00-\ufe0f\ufeff\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\U0001f000-\U0001faff]+') LOOP
            t := chatd_search_key_folded(t);
            IF t <> '' AND NOT t = ANY (seen) THEN
                seen := seen || t;
            END IF;
            IF t LIKE 'www.%' AND substr(t, 5) <> '' AND NOT substr(t, 5) = ANY (seen) THEN
                seen := seen || substr(t, 5);
            END IF;
        END LOOP;
        -- words, and the words of camelCase words
        FOREACH w IN ARRAY regexp_split_to_array(chunk,
            '[\u0001-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u00bf\u00d7\u00f7\u1680\u2000-\u2bff\u3000-\u303f\ufe00-\ufe0f\ufeff\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\U0001f000-\U0001faff]+') LOOP
            FOREACH cw IN ARRAY array_prepend(w, regexp_split_to_array(regexp_replace(w, '([a-z0-9])([A-Z])', '\1 \2', 'g'), ' ')) LOOP
                cw := left(lower(cw), 200);
                IF cw <> '' AND NOT cw = ANY (seen) THEN
                    seen := seen || cw;
                END IF;
            END LOOP;
        END LOOP;
        IF (lower(chunk) ~ 'https?://' OR k LIKE 'www.%') AND NOT ':link' = ANY (seen) THEN
            seen := seen || ':link'::text;
        END IF;
        FOR i IN 1 .. array_length(seen, 1) LOOP
            terms := terms || ('''' || replace(replace(seen[i], '\', '\\'), '''', '''''') || ''':' || pos
                || CASE WHEN i = 1 THEN 'A' ELSE '' END);
        END LOOP;
    END LOOP;
    RETURN array_to_string(terms, ' ')::tsvector;
END
$$;

DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (chatd_search_vector(CASE WHEN deleted THEN '' ELSE content END)) STORED;

-- One GIN index over (room_id, search) (btree_gin, trusted like unaccent): a search
-- within the caller's rooms (room_id = ANY (their rooms)) intersects the room's and
-- the words' posting lists inside the index, so only matching rows of those rooms
-- are fetched; a search over words alone uses it as the plain index would.
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX messages_search ON messages USING gin (room_id, search);
-- Newest-first walks for common words (the search ranks the newest matches only,
-- see persist/store_sql_search.go).
CREATE INDEX messages_created ON messages (created_at);
