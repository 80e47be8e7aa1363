-- The people directory across divisions (store/directory.py).
--
-- 1. `account_search`: a full-text index (FTS5) of every account we know, local and remote,
--    by name (username and display name) and by the well-known profile fields Department,
--    Title and Location, so a search by any of them is an index look-up, never a scan of
--    20k accounts per keystroke. Kept by triggers in the very transaction that changes an
--    account or its fields, whichever process writes. Fields are indexed only for accounts
--    in the directory (`discoverable`): someone who opted out is found by name alone.
--
--    A field is well-known by its name, compared case-insensitively after trimming:
--      Department: 'department', 'dept'
--      Title:      'title', 'job title', 'role', 'position'
--      Location:   'location', 'office'
--    The first such field (in profile order) counts. Remote values are sanitised HTML; the
--    common entities are unescaped so that 'R&amp;D' is found, and filtered, as 'R&D'.
--
-- 2. `directory_changes`: the change log of local people that peers read (the directory
--    feed at /actor/directory). One row per local account, moved to a new, higher `seq`
--    whenever anything its actor document shows changes: profile, fields, images, key,
--    discoverable, disabled or suspended, deleted. A peer that read up to `seq` N reads only
--    rows above N: what changed since, once each, with those who left as tombstones.
--
-- 3. `directory_peers`: per peer, how far its feed has been read and when to read it next.
--    `directory_left`: remote accounts hidden because their own division said they left, so
--    that their return (re-enabled there) can show them again.

CREATE VIRTUAL TABLE account_search USING fts5(
    name, department, title, location,
    tokenize = "unicode61 remove_diacritics 2 tokenchars '_'",
    prefix = '2 3'
);

CREATE VIEW account_field_text AS
SELECT account_id, position, lower(trim(name)) AS name,
    trim(replace(replace(replace(replace(replace(value,
        '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#39;', ''''), '&amp;', '&')) AS value
FROM account_fields;

CREATE VIEW account_search_source AS
SELECT a.id AS id,
    a.username || ' ' || a.display_name AS name,
    CASE WHEN a.discoverable THEN coalesce((SELECT f.value FROM account_field_text f
        WHERE f.account_id = a.id AND f.name IN ('department', 'dept')
        ORDER BY f.position LIMIT 1), '') ELSE '' END AS department,
    CASE WHEN a.discoverable THEN coalesce((SELECT f.value FROM account_field_text f
        WHERE f.account_id = a.id AND f.name IN ('title', 'job title', 'role', 'position')
        ORDER BY f.position LIMIT 1), '') ELSE '' END AS title,
    CASE WHEN a.discoverable THEN coalesce((SELECT f.value FROM account_field_text f
        WHERE f.account_id = a.id AND f.name IN ('location', 'office')
        ORDER BY f.position LIMIT 1), '') ELSE '' END AS location
FROM accounts a;

INSERT INTO account_search (rowid, name, department, title, location)
SELECT id, name, department, title, location FROM account_search_source;

CREATE TRIGGER account_search_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO account_search (rowid, name, department, title, location)
    SELECT id, name, department, title, location FROM account_search_source WHERE id = NEW.id;
END;

CREATE TRIGGER account_search_update AFTER UPDATE OF username, display_name, discoverable
ON accounts
WHEN OLD.username IS NOT NEW.username OR OLD.display_name IS NOT NEW.display_name
    OR OLD.discoverable IS NOT NEW.discoverable
BEGIN
    DELETE FROM account_search WHERE rowid = NEW.id;
    INSERT INTO account_search (rowid, name, department, title, location)
    SELECT id, name, department, title, location FROM account_search_source WHERE id = NEW.id;
END;

CREATE TRIGGER account_search_delete AFTER DELETE ON accounts
BEGIN
    DELETE FROM account_search WHERE rowid = OLD.id;
END;

CREATE TRIGGER account_search_field_insert AFTER INSERT ON account_fields
BEGIN
    DELETE FROM account_search WHERE rowid = NEW.account_id;
    INSERT INTO account_search (rowid, name, department, title, location)
    SELECT id, name, department, title, location FROM account_search_source
    WHERE id = NEW.account_id;
END;

CREATE TRIGGER account_search_field_update AFTER UPDATE ON account_fields
BEGIN
    DELETE FROM account_search WHERE rowid IN (OLD.account_id, NEW.account_id);
    INSERT INTO account_search (rowid, name, department, title, location)
    SELECT id, name, department, title, location FROM account_search_source
    WHERE id IN (OLD.account_id, NEW.account_id);
END;

CREATE TRIGGER account_search_field_delete AFTER DELETE ON account_fields
BEGIN
    DELETE FROM account_search WHERE rowid = OLD.account_id;
    INSERT INTO account_search (rowid, name, department, title, location)
    SELECT id, name, department, title, location FROM account_search_source
    WHERE id = OLD.account_id;
END;

-- The change log of local people (not the instance actor).
CREATE TABLE directory_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL UNIQUE,
    uri TEXT NOT NULL
);

INSERT INTO directory_changes (account_id, uri)
SELECT id, uri FROM accounts WHERE domain IS NULL AND actor_type != 'Application' ORDER BY id;

CREATE TRIGGER directory_account_insert AFTER INSERT ON accounts
WHEN NEW.domain IS NULL AND NEW.actor_type != 'Application'
BEGIN
    DELETE FROM directory_changes WHERE account_id = NEW.id;
    INSERT INTO directory_changes (account_id, uri) VALUES (NEW.id, NEW.uri);
END;

CREATE TRIGGER directory_account_update AFTER UPDATE ON accounts
WHEN NEW.domain IS NULL AND NEW.actor_type != 'Application' AND (
    OLD.username IS NOT NEW.username OR OLD.url IS NOT NEW.url
    OR OLD.actor_type IS NOT NEW.actor_type OR OLD.display_name IS NOT NEW.display_name
    OR OLD.note IS NOT NEW.note OR OLD.discoverable IS NOT NEW.discoverable
    OR OLD.manually_approves_followers IS NOT NEW.manually_approves_followers
    OR OLD.avatar_file IS NOT NEW.avatar_file OR OLD.header_file IS NOT NEW.header_file
    OR OLD.suspended_at IS NOT NEW.suspended_at)
BEGIN
    DELETE FROM directory_changes WHERE account_id = NEW.id;
    INSERT INTO directory_changes (account_id, uri) VALUES (NEW.id, NEW.uri);
END;

CREATE TRIGGER directory_account_delete AFTER DELETE ON accounts
WHEN OLD.domain IS NULL AND OLD.actor_type != 'Application'
BEGIN
    DELETE FROM directory_changes WHERE account_id = OLD.id;
    INSERT INTO directory_changes (account_id, uri) VALUES (OLD.id, OLD.uri);
END;

CREATE TRIGGER directory_field_insert AFTER INSERT ON account_fields
WHEN EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id AND domain IS NULL)
BEGIN
    DELETE FROM directory_changes WHERE account_id = NEW.account_id;
    INSERT INTO directory_changes (account_id, uri)
    SELECT id, uri FROM accounts WHERE id = NEW.account_id;
END;

CREATE TRIGGER directory_field_update AFTER UPDATE ON account_fields
WHEN EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id AND domain IS NULL)
BEGIN
    DELETE FROM directory_changes WHERE account_id = NEW.account_id;
    INSERT INTO directory_changes (account_id, uri)
    SELECT id, uri FROM accounts WHERE id = NEW.account_id;
END;

CREATE TRIGGER directory_field_delete AFTER DELETE ON account_fields
WHEN EXISTS (SELECT 1 FROM accounts WHERE id = OLD.account_id AND domain IS NULL)
BEGIN
    DELETE FROM directory_changes WHERE account_id = OLD.account_id;
    INSERT INTO directory_changes (account_id, uri)
    SELECT id, uri FROM accounts WHERE id = OLD.account_id;
END;

CREATE TRIGGER directory_user_disabled AFTER UPDATE OF disabled_at ON users
WHEN OLD.disabled_at IS NOT NEW.disabled_at
BEGIN
    DELETE FROM directory_changes WHERE account_id = NEW.account_id;
    INSERT INTO directory_changes (account_id, uri)
    SELECT id, uri FROM accounts WHERE id = NEW.account_id AND actor_type != 'Application';
END;

CREATE TRIGGER directory_key_insert AFTER INSERT ON keys
WHEN NEW.private_key_pem IS NOT NULL AND EXISTS (SELECT 1 FROM accounts
    WHERE id = NEW.account_id AND domain IS NULL AND actor_type != 'Application')
BEGIN
    DELETE FROM directory_changes WHERE account_id = NEW.account_id;
    INSERT INTO directory_changes (account_id, uri)
    SELECT id, uri FROM accounts WHERE id = NEW.account_id;
END;

CREATE TABLE directory_peers (
    domain TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL DEFAULT 0,
    next_sync_at TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_started_at TEXT,
    last_finished_at TEXT,
    last_success_at TEXT,
    last_error TEXT,
    last_pages INTEGER NOT NULL DEFAULT 0,
    last_items INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE directory_left (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    left_at TEXT NOT NULL
);
