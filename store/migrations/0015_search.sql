-- Full-text search over statuses (SQLite FTS5). `body` is what words match: the content
-- warning, the plain text and the media descriptions. `meta` holds one token per fact a
-- search operator asks about (`all`, `from<account id>`, `hasmedia`, `isreply`, `lang<code>`,
-- `tag<name>`, ...), so an operator is a doclist merged with the words inside FTS5 rather
-- than a filter over rows. The rowid is the status id (time-ordered), so "newest first" is
-- FTS5's own reverse rowid order and stops after one page.
--
-- The index is derived data. Triggers queue a status in `search_pending` inside the very
-- transaction that creates, edits or deletes it (a row costs microseconds); the search
-- indexer turns queued statuses into index rows later (about 200 us per 1 KB post), never
-- inline in an inbox or API request. A status queued again while the indexer works gets a
-- new `seq`, so the indexer only deletes the queue rows it has read and the edit is indexed
-- on its next pass.
CREATE VIRTUAL TABLE status_search USING fts5(
    body, meta, tokenize = "unicode61 remove_diacritics 2 tokenchars '_'"
);

CREATE TABLE search_pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id INTEGER NOT NULL UNIQUE
);

-- What was written before this migration: newest first, so recent posts are findable soonest.
INSERT INTO search_pending (status_id)
SELECT id FROM statuses WHERE reblog_of_id IS NULL AND deleted_at IS NULL ORDER BY id DESC;

CREATE TRIGGER search_queue_insert AFTER INSERT ON statuses
WHEN NEW.reblog_of_id IS NULL
BEGIN
    DELETE FROM search_pending WHERE status_id = NEW.id;
    INSERT INTO search_pending (status_id) VALUES (NEW.id);
END;

CREATE TRIGGER search_queue_update
AFTER UPDATE OF text, content, spoiler_text, sensitive, language, name, deleted_at ON statuses
WHEN NEW.reblog_of_id IS NULL
BEGIN
    DELETE FROM search_pending WHERE status_id = NEW.id;
    INSERT INTO search_pending (status_id) VALUES (NEW.id);
END;

CREATE TRIGGER search_queue_delete AFTER DELETE ON statuses
WHEN OLD.reblog_of_id IS NULL
BEGIN
    DELETE FROM search_pending WHERE status_id = OLD.id;
    INSERT INTO search_pending (status_id) VALUES (OLD.id);
END;

-- Media descriptions are searchable, and `has:media` depends on what is attached.
CREATE TRIGGER search_queue_media_insert AFTER INSERT ON media_attachments
WHEN NEW.status_id IS NOT NULL
BEGIN
    DELETE FROM search_pending WHERE status_id = NEW.status_id;
    INSERT INTO search_pending (status_id) VALUES (NEW.status_id);
END;

CREATE TRIGGER search_queue_media_update
AFTER UPDATE OF status_id, position, description, type ON media_attachments
BEGIN
    DELETE FROM search_pending WHERE status_id IN (OLD.status_id, NEW.status_id);
    INSERT INTO search_pending (status_id)
    SELECT value FROM (SELECT OLD.status_id AS value UNION SELECT NEW.status_id)
    WHERE value IS NOT NULL;
END;

-- Hashtags are index tokens too (`#name` searches them).
CREATE TRIGGER search_queue_tags_insert AFTER INSERT ON status_tags
BEGIN
    DELETE FROM search_pending WHERE status_id = NEW.status_id;
    INSERT INTO search_pending (status_id) VALUES (NEW.status_id);
END;

CREATE TRIGGER search_queue_tags_delete AFTER DELETE ON status_tags
BEGIN
    DELETE FROM search_pending WHERE status_id = OLD.status_id;
    INSERT INTO search_pending (status_id) VALUES (OLD.status_id);
END;
