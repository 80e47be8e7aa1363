-- Follows imported from a CSV file (Mastodon's following_accounts.csv, or a bare list of
-- addresses): one row per upload and one per address in it. The upload is answered at once;
-- the import worker (watercooler.follows_import) resolves and follows the rows a few at a
-- time, off the request, and writes each row's outcome here for the person to read.
-- state of an import: 'pending' (rows to do), 'done'; of a row: 'pending', 'followed',
-- 'failed' (reason says why; a malformed address fails at upload, before any lookup).
CREATE TABLE follow_imports (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    mode TEXT NOT NULL CHECK (mode IN ('merge', 'overwrite')),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done')),
    file_name TEXT NOT NULL DEFAULT '',
    total INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX follow_imports_account ON follow_imports (account_id, id);
CREATE INDEX follow_imports_pending ON follow_imports (state, id);

CREATE TABLE follow_import_rows (
    import_id INTEGER NOT NULL REFERENCES follow_imports (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    address TEXT NOT NULL,
    show_reblogs INTEGER NOT NULL DEFAULT 1,
    notify INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'followed', 'failed')),
    reason TEXT,
    target_account_id INTEGER REFERENCES accounts (id),
    PRIMARY KEY (import_id, position)
);
CREATE INDEX follow_import_rows_pending ON follow_import_rows (import_id, state, position);
