-- The audit log (issue 7, point 3): every admin action, from the web pages, the admin API
-- or the CLI, one row each, written in the action's own transaction where the action allows.
-- Admins read it; no code path changes or deletes a row.
--
-- `actor_account_id` / `actor_name`: who acted (the name is kept as it was, so the row reads
-- the same after a rename; the CLI has no account: NULL and the operating-system user).
-- `action`: a dotted name ('user.create', 'peer.add', 'domain.block', 'queue.retry',
-- 'settings.change', ...), `target`: what it acted on (a username, a domain, '*'),
-- `details`: a JSON object, `origin`: 'web', 'api' or 'cli'. No foreign keys: the log
-- outlives whatever it names.
--
-- Append-only: the triggers below refuse UPDATE and DELETE, and an INSERT that does not
-- extend the chain (a larger id, and `prev_hash` = the newest row's `hash`), so the rows form
-- one line without forks. Someone with the database file and a SQLite shell can still drop
-- the triggers; the hash chain is what shows that afterwards (`watercooler audit verify`).
--
-- The hash chain. `hash` = lowercase hex SHA-256 of the UTF-8 bytes of
--     prev_hash || "\n" || canonical
-- where `prev_hash` is the previous row's `hash` (64 zeros for the first row) and
-- `canonical` is the JSON object
--     {"action":…,"actor_account_id":…,"actor_name":…,"at":…,"details":…,"id":…,
--      "origin":…,"target":…}
-- with keys sorted, no whitespace (separators "," and ":"), non-ASCII characters as they are
-- (not \u-escaped), `id` and `actor_account_id` as JSON numbers (or null), `at` as the stored
-- text (UTC, "YYYY-MM-DDTHH:MM:SS.mmmZ") and `details` as the JSON object itself (its stored
-- text is that object in the same canonical form). Python: json.dumps(row, sort_keys=True,
-- separators=(",", ":"), ensure_ascii=False). store/audit.py computes it (`row_hash`).
--
-- PostgreSQL: the same table; the triggers become a BEFORE UPDATE OR DELETE trigger raising
-- an exception, and a BEFORE INSERT trigger with the chain check.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_account_id INTEGER,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('web', 'api', 'cli')),
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor_name, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: a row cannot be changed'); END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: a row cannot be deleted'); END;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
WHEN NEW.id <= COALESCE((SELECT MAX(id) FROM audit_log), 0)
  OR NEW.prev_hash IS NOT COALESCE(
    (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1),
    '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'audit_log row does not extend the chain'); END;

-- Instance settings that admins may change at run time (the admin settings page). A row
-- overrides the `[instance]` value of the config file, in this process at once and at every
-- start; without a row the file's value holds. Only settings that are read per request and
-- safe to change live are here: watercooler/instance_settings.py lists them.
CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY CHECK (key IN ('name', 'description', 'default_visibility')),
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
