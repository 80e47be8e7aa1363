-- Polls (Mastodon's polls, ActivityPub's `Question` with `oneOf` / `anyOf`). One poll per
-- status. `options` is a JSON array of the answers' titles and `tallies` a JSON array of their
-- vote counts, in the same order: for a local poll counted from `poll_votes`, for a remote one
-- as its author last said (Create or Update of the Question). `voters_count` likewise.
-- `update_due_at` (local polls): new votes wait for one coalesced `Update` to the audience;
-- `closed_at`: when the poll's end was handled (final Update, `poll` notifications), once.
CREATE TABLE polls (
    id INTEGER PRIMARY KEY,
    status_id INTEGER NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    local INTEGER NOT NULL,
    options TEXT NOT NULL,
    tallies TEXT NOT NULL,
    multiple INTEGER NOT NULL DEFAULT 0,
    hide_totals INTEGER NOT NULL DEFAULT 0,
    voters_count INTEGER,
    expires_at TEXT,
    closed_at TEXT,
    update_due_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX polls_open ON polls (expires_at) WHERE closed_at IS NULL;
CREATE INDEX polls_update_due ON polls (update_due_at) WHERE update_due_at IS NOT NULL;

-- Votes: one row per voter and chosen option. Votes of anyone on a local poll, and the
-- local users' own votes on remote polls (`own_votes`, and who to tell when it ends). `uri` is
-- the vote Note's id (ours for a local voter, the voter's server's for a remote one).
CREATE TABLE poll_votes (
    id INTEGER PRIMARY KEY,
    poll_id INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    choice INTEGER NOT NULL,
    uri TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (poll_id, account_id, choice)
);
CREATE INDEX poll_votes_account ON poll_votes (account_id, poll_id);
