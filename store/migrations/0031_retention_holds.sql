-- Issue 10, point 3: the division's retention policy, the job's runs, legal holds and the
-- copies of held statuses preserved when they were deleted.

-- The policy: one row when retention is on, none when it is off (the default).
-- `visibilities` is a comma-separated list of the visibilities it deletes; '' means all.
CREATE TABLE retention_policy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    days INTEGER NOT NULL CHECK (days >= 1),
    visibilities TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);

-- One row per run of the retention job. The counters are written in the very transactions
-- that delete, so a run cut short by a crash still knows what it did; its audit row is
-- written when it ends, or by the next run (`finished_at` stays NULL until then).
CREATE TABLE retention_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    days INTEGER NOT NULL,
    visibilities TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    purged INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    more INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT
);
CREATE INDEX retention_runs_open ON retention_runs (finished_at, id);

-- The job's scan (store.retention.candidates): live posts by id, oldest first, without
-- walking the tombstones of everything deleted before.
CREATE INDEX statuses_live_by_id ON statuses (id) WHERE deleted_at IS NULL AND reblog_of_id IS NULL;

-- A legal hold covers the statuses of one account (local or remote), or those matching a
-- search query. A query is kept as typed and as compiled when the hold was made: its FTS5
-- MATCH expression over `status_search` and its date bounds.
CREATE TABLE legal_holds (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    account_id INTEGER REFERENCES accounts (id),
    query TEXT,
    match_expression TEXT,
    created_before TEXT,
    created_after TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    released_at TEXT,
    released_by TEXT,
    CHECK ((account_id IS NULL) != (query IS NULL))
);
CREATE INDEX legal_holds_active ON legal_holds (released_at, id);

-- What a held status was when it was deleted (by its author, a moderator, its remote
-- origin): the row, its edit history, mentions, hashtags, media and poll, as JSON. Written in
-- the deleting transaction (store.statuses.mark_deleted), erased when no hold covers it.
CREATE TABLE held_statuses (
    status_id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    uri TEXT NOT NULL,
    local INTEGER NOT NULL,
    visibility TEXT NOT NULL,
    created_at TEXT NOT NULL,
    preserved_at TEXT NOT NULL,
    snapshot TEXT NOT NULL
);

CREATE TABLE held_status_holds (
    status_id INTEGER NOT NULL REFERENCES held_statuses (status_id) ON DELETE CASCADE,
    hold_id INTEGER NOT NULL REFERENCES legal_holds (id),
    PRIMARY KEY (status_id, hold_id)
);
CREATE INDEX held_status_holds_hold ON held_status_holds (hold_id, status_id);

-- Media files (under media.path) a preserved copy names: nothing may erase them.
CREATE TABLE held_media (
    file_name TEXT NOT NULL,
    status_id INTEGER NOT NULL REFERENCES held_statuses (status_id) ON DELETE CASCADE,
    PRIMARY KEY (file_name, status_id)
);
