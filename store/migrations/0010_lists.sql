-- Lists and direct-message conversations (Mastodon's client API).

-- A local account's lists of accounts it follows. replies_policy: 'followed', 'list' or
-- 'none' (which replies the list timeline shows); exclusive = 1 keeps the members' posts out
-- of the owner's home timeline.
CREATE TABLE lists (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    title TEXT NOT NULL,
    replies_policy TEXT NOT NULL DEFAULT 'list',
    exclusive INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX lists_account ON lists (account_id, id);

CREATE TABLE list_accounts (
    list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (list_id, account_id)
);
CREATE INDEX list_accounts_account ON list_accounts (account_id);

-- List timelines, materialised on write like home_timeline: a status that reaches the
-- owner's home timeline and whose author is a member is added to the list once. A page is
-- then one index range, however quiet the members are among everyone the owner follows.
CREATE TABLE list_timeline (
    list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, status_id)
);
CREATE INDEX list_timeline_status ON list_timeline (status_id);

-- Direct-message conversations, one row per local participant, thread (`conversation`, the
-- status's conversation URI or its thread root's URI) and set of other participants, as
-- Mastodon's account_conversations. participant_ids: the other participants' account ids,
-- ascending, comma-separated ('' for a note to oneself). Pages go by last_status_id.
CREATE TABLE account_conversations (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    conversation TEXT NOT NULL,
    participant_ids TEXT NOT NULL,
    last_status_id INTEGER NOT NULL,
    unread INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, conversation, participant_ids)
);
CREATE INDEX account_conversations_recent ON account_conversations (account_id, last_status_id);

-- The statuses of each conversation: when the last one is deleted the one before it shows;
-- when none is left the conversation goes.
CREATE TABLE account_conversation_statuses (
    conversation_id INTEGER NOT NULL REFERENCES account_conversations (id) ON DELETE CASCADE,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, status_id)
);
CREATE INDEX account_conversation_statuses_status ON account_conversation_statuses (status_id);
