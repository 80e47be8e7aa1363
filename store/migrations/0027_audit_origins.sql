-- Issue 10: the audit log also records what the server does by itself (the retention job:
-- origin 'system') and what another division asked for (a report forwarded as Flag, a Move:
-- origin 'federation'). SQLite cannot change a CHECK in place, so the table is rebuilt with
-- its rows, hashes, indexes and triggers exactly as they were (0021); no hash changes,
-- because no row's content does.
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_chain;

CREATE TABLE audit_log_rebuilt (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor_account_id INTEGER,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('web', 'api', 'cli', 'system', 'federation')),
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_log_rebuilt
    (id, at, actor_account_id, actor_name, action, target, details, origin, prev_hash, hash)
SELECT id, at, actor_account_id, actor_name, action, target, details, origin, prev_hash, hash
FROM audit_log ORDER BY id;
DROP TABLE audit_log;
ALTER TABLE audit_log_rebuilt RENAME TO audit_log;

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
