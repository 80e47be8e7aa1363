-- Accounts are every actor we know: local users, the instance actor and remote actors.
-- domain IS NULL means local. Ids are 64-bit, time-sortable (see store/ids.py).
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    domain TEXT,
    uri TEXT NOT NULL UNIQUE,
    url TEXT,
    actor_type TEXT NOT NULL DEFAULT 'Person',
    display_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    inbox_url TEXT,
    outbox_url TEXT,
    shared_inbox_url TEXT,
    followers_url TEXT,
    following_url TEXT,
    featured_url TEXT,
    manually_approves_followers INTEGER NOT NULL DEFAULT 0,
    discoverable INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    fetched_at TEXT,
    suspended_at TEXT
);
CREATE UNIQUE INDEX accounts_username_domain ON accounts (lower(username), coalesce(domain, ''));
CREATE INDEX accounts_domain ON accounts (domain);

-- Local sign-in identities. Exactly one account per user.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
    email TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    last_active_at TEXT,
    disabled_at TEXT
);

-- Signing keys. Local keys carry the private half; remote ones only the public half.
CREATE TABLE keys (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    key_uri TEXT NOT NULL UNIQUE,
    public_key_pem TEXT NOT NULL,
    private_key_pem TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX keys_account ON keys (account_id);

-- Bearer tokens, stored as SHA-256 of the secret: a copied database yields no usable token.
CREATE TABLE oauth_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    application_id INTEGER,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    last_used_at TEXT
);
CREATE INDEX oauth_tokens_user ON oauth_tokens (user_id);
