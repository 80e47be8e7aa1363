-- Reports (issue 10, point 1): Mastodon's reports, the queue admins and moderators work.
--
-- `account_id`: who reported — a local account, or NULL for a report another division sent
-- as `Flag` (`origin_domain` then names that division; Mastodon attributes such reports to
-- the remote instance actor, we keep the domain). `target_account_id`: whom it is about.
-- `forwarded`: the reporter asked for a copy to go to the target's division (a `Flag` from
-- our instance actor; `uri` is that Flag's id); for a received report `uri` is the remote
-- Flag's id, which makes receiving it twice one report. `rule_ids`: JSON array of rule ids.
-- `action_taken_at` set = resolved (Mastodon's `action_taken`), by
-- `action_taken_by_account_id` (NULL: the CLI or the server), `action_taken` names what was
-- done when a moderation action resolved it ('suspend', 'silence', ...).
CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    account_id INTEGER REFERENCES accounts (id),
    target_account_id INTEGER NOT NULL REFERENCES accounts (id),
    comment TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL DEFAULT 'other'
        CHECK (category IN ('spam', 'legal', 'violation', 'other')),
    rule_ids TEXT NOT NULL DEFAULT '[]',
    forwarded INTEGER NOT NULL DEFAULT 0,
    origin_domain TEXT,
    uri TEXT UNIQUE,
    assigned_account_id INTEGER REFERENCES accounts (id),
    action_taken_at TEXT,
    action_taken_by_account_id INTEGER REFERENCES accounts (id),
    action_taken TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX reports_open ON reports (action_taken_at, id);
CREATE INDEX reports_target ON reports (target_account_id, id);
CREATE INDEX reports_reporter ON reports (account_id, id);

-- The statuses a report names (Mastodon's `status_ids`); kept when the status is deleted
-- (no cascade: the report is evidence), so readers join and skip missing rows.
CREATE TABLE report_statuses (
    report_id INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    status_id INTEGER NOT NULL,
    PRIMARY KEY (report_id, status_id)
);

-- Moderators' notes on a report (Mastodon's report notes), oldest first.
CREATE TABLE report_notes (
    id INTEGER PRIMARY KEY,
    report_id INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    account_id INTEGER REFERENCES accounts (id),
    author_name TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX report_notes_report ON report_notes (report_id, id);
