-- Announcements that federate (issue 9, point 1), and roles as data.
--
-- `user_roles`: what a local user may do beyond posting, one row per (user, role). Role
-- names are checked in code (store.roles.KNOWN_ROLES), not here, so a new role (issue 10's
-- `moderator`) needs no migration. Admins hold every power without rows.
CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role, user_id);

-- `announcements`: every announcement this division shows, its own (local = 1, published
-- by an admin or announcer here) and its peers' (received from their instance actors).
-- `uri` is the object's id (ours: {base}/announcements/{id}); `account_id` the announcing
-- account. `text` is the source of a local one ('' for a received one); `content` the HTML
-- (ours rendered by us, a peer's sanitized). `mention_ids` and `tags` are JSON arrays
-- (account ids, hashtag names) for the entity. `starts_at` / `ends_at` bound when it shows;
-- `withdrawn_at` set on a withdrawal: the row stays (what was said, and when it was taken back).
CREATE TABLE announcements (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    local INTEGER NOT NULL,
    text TEXT NOT NULL,
    content TEXT NOT NULL,
    mention_ids TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    starts_at TEXT,
    ends_at TEXT,
    all_day INTEGER NOT NULL DEFAULT 0,
    published_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    withdrawn_at TEXT
);
CREATE INDEX announcements_live ON announcements (withdrawn_at, starts_at);

-- Per reader, on this division only (Mastodon keeps both per server): who dismissed which
-- announcement, and who reacted with which emoji.
CREATE TABLE announcement_dismissals (
    announcement_id INTEGER NOT NULL REFERENCES announcements (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    dismissed_at TEXT NOT NULL,
    PRIMARY KEY (announcement_id, account_id)
);

CREATE TABLE announcement_reactions (
    announcement_id INTEGER NOT NULL REFERENCES announcements (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (announcement_id, account_id, name)
);
