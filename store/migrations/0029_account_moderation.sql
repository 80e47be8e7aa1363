-- Moderation of accounts (issue 10, point 1): what this division's admins and moderators
-- decided about an account, local or remote. One row per account ever moderated.
--
-- `limited_at`: Mastodon's "silence" — the account's posts stay out of the public and
-- organisation timelines (and its notifications do not reach) those who do not follow it.
-- `suspended_at`: the account is hidden from every read path here and, when remote, its
-- activities are dropped on arrival; `accounts.suspended_at` is set with it (so the paths
-- that already hide suspended actors hide it) and cleared by unsuspending. A local suspension
-- also disables the user (sign-in, tokens, sessions; the actor answers 410);
-- `user_was_disabled` keeps whether they were disabled before, so unsuspending does not
-- enable a user an admin disabled for another reason. `sensitized_at`: Mastodon's
-- "sensitive" flag (recorded and reported; media are not forced sensitive).
CREATE TABLE account_moderation (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    limited_at TEXT,
    suspended_at TEXT,
    sensitized_at TEXT,
    user_was_disabled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX account_moderation_limited ON account_moderation (limited_at)
    WHERE limited_at IS NOT NULL;
CREATE INDEX account_moderation_suspended ON account_moderation (suspended_at)
    WHERE suspended_at IS NOT NULL;

-- Warnings and actions shown to the local user they concern (Mastodon's AccountWarning).
-- `action`: none, disable, sensitive, silence, suspend, delete_statuses (Mastodon's names);
-- `status_ids`: JSON array of the statuses concerned or NULL; `notification_id`: the
-- `moderation_warning` notification that shows it; `by_account_id`: the moderator (never
-- shown to the user).
CREATE TABLE account_warnings (
    id INTEGER PRIMARY KEY,
    target_account_id INTEGER NOT NULL REFERENCES accounts (id),
    by_account_id INTEGER REFERENCES accounts (id),
    action TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    status_ids TEXT,
    report_id INTEGER,
    notification_id INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX account_warnings_target ON account_warnings (target_account_id, id);
CREATE INDEX account_warnings_notification ON account_warnings (notification_id);
