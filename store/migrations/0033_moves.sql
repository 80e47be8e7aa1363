-- Moving between divisions (issue 10, point 5), as Mastodon's account migration.
--
-- `account_aliases`: the actor URIs a local account says it is also known as (its
-- `alsoKnownAs`): the new account lists the old one before the old one moves, and the old
-- one lists the new one once it has moved.
CREATE TABLE account_aliases (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    uri TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, uri)
);

-- Where an account moved (Mastodon's `moved_to_account_id`): set on a local account when its
-- owner moves it, on a remote one when its verified `Move` arrives. A moved local account
-- serves `movedTo` and can no longer post.
ALTER TABLE accounts ADD COLUMN moved_to_account_id INTEGER REFERENCES accounts (id);
ALTER TABLE accounts ADD COLUMN moved_at TEXT;

-- Local followers of a moved account, to follow its new account and unfollow the old one:
-- queued with the move, carried out by the move worker (outbox.moves), a few at a time.
CREATE TABLE move_follows (
    id INTEGER PRIMARY KEY,
    follower_account_id INTEGER NOT NULL REFERENCES accounts (id),
    old_account_id INTEGER NOT NULL REFERENCES accounts (id),
    new_account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at TEXT NOT NULL,
    done_at TEXT,
    UNIQUE (follower_account_id, old_account_id, new_account_id)
);
CREATE INDEX move_follows_due ON move_follows (id) WHERE done_at IS NULL;
