-- Statuses: local and remote posts, and boosts (a row whose reblog_of_id is set).
CREATE TABLE statuses (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    url TEXT,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    local INTEGER NOT NULL DEFAULT 0,
    activity_uri TEXT,
    in_reply_to_id INTEGER,
    in_reply_to_uri TEXT,
    in_reply_to_account_id INTEGER,
    reblog_of_id INTEGER REFERENCES statuses (id),
    conversation_uri TEXT,
    visibility TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT 'Note',
    name TEXT,
    text TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive INTEGER NOT NULL DEFAULT 0,
    language TEXT,
    replies_count INTEGER NOT NULL DEFAULT 0,
    reblogs_count INTEGER NOT NULL DEFAULT 0,
    favourites_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    edited_at TEXT,
    deleted_at TEXT
);
CREATE INDEX statuses_account ON statuses (account_id, id);
CREATE INDEX statuses_reply ON statuses (in_reply_to_id);
CREATE INDEX statuses_reply_uri ON statuses (in_reply_to_uri);
CREATE UNIQUE INDEX statuses_one_boost ON statuses (account_id, reblog_of_id)
    WHERE reblog_of_id IS NOT NULL;

CREATE TABLE status_mentions (
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (status_id, account_id)
);
CREATE INDEX status_mentions_account ON status_mentions (account_id);

CREATE TABLE status_tags (
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (status_id, name)
);
CREATE INDEX status_tags_name ON status_tags (name, status_id);

-- Follows and follow requests: state 'pending' until the target accepts.
CREATE TABLE follows (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    target_account_id INTEGER NOT NULL REFERENCES accounts (id),
    uri TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX follows_target ON follows (target_account_id, state);
CREATE INDEX follows_uri ON follows (uri);

CREATE TABLE favourites (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, status_id)
);
CREATE INDEX favourites_uri ON favourites (uri);

CREATE TABLE blocks (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    target_account_id INTEGER NOT NULL REFERENCES accounts (id),
    uri TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (account_id, target_account_id)
);
CREATE INDEX blocks_uri ON blocks (uri);

-- Home timelines, materialised on write (fan-out): one row per local reader and status.
CREATE TABLE home_timeline (
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, status_id)
);

-- Activities this instance published (C2S answers, the outbox collection).
CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    type TEXT NOT NULL,
    object_uri TEXT,
    status_id INTEGER,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX activities_account ON activities (account_id, id);

-- The inbound queue: verified activities as received, processed by the inbox worker.
-- activity_uri is unique: the same activity delivered twice is stored once.
CREATE TABLE inbox_items (
    id INTEGER PRIMARY KEY,
    activity_uri TEXT NOT NULL UNIQUE,
    actor_uri TEXT NOT NULL,
    recipient_account_id INTEGER,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    locked_until TEXT,
    last_error TEXT,
    received_at TEXT NOT NULL,
    processed_at TEXT
);
CREATE INDEX inbox_items_due ON inbox_items (state, next_attempt_at);

-- Which local accounts an inbound activity was for (the C2S inbox of each).
CREATE TABLE inbox_recipients (
    item_id INTEGER NOT NULL REFERENCES inbox_items (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (account_id, item_id)
);

-- The delivery queue: one row per activity and distinct target inbox.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    activity_uri TEXT NOT NULL,
    actor_account_id INTEGER NOT NULL REFERENCES accounts (id),
    inbox_url TEXT NOT NULL,
    host TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    locked_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (activity_uri, inbox_url)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_host ON deliveries (host, state);
