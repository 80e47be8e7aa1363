-- Communities (FEP-1b12 groups). A community is an `accounts` row with actor_type 'Group'
-- (local: domain IS NULL, with its own key), so it follows, is followed, boosts and pins as
-- any account does: members are its accepted followers, what it announced are its boosts,
-- its pins are `status_pins` rows of any member's post. What only a local community has is
-- here: who moderates it (local or remote accounts) and who made it.
CREATE TABLE communities (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id),
    creator_account_id INTEGER REFERENCES accounts (id),
    created_at TEXT NOT NULL
);

CREATE TABLE community_moderators (
    community_account_id INTEGER NOT NULL REFERENCES accounts (id),
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (community_account_id, account_id)
);
CREATE INDEX community_moderators_account ON community_moderators (account_id);
