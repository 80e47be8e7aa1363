-- Issue 10: the policy of the config file as the server last started with it (federation
-- mode, sign-in, SSO, the org keys, retention: watercooler/config_audit.py lists the keys).
-- At each start the server compares the file with these rows and writes a 'config.change'
-- audit row (origin 'system') for what differs, in the transaction that updates them, so a
-- change made by editing the file and restarting shows in the audit log like one made on the
-- admin pages. The first start only notes the file (the installation is not a change).
-- `value` is the canonical JSON of the setting (null: the section is absent); secrets are
-- never kept here.
CREATE TABLE config_policy (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    seen_at TEXT NOT NULL
);
