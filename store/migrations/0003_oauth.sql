-- OAuth 2: client applications, authorization codes, app-only and refresh tokens, the browser
-- sessions of the sign-in pages, and per-instance secrets. Every secret a client or browser
-- holds (client secret, code, token, session) is stored as its SHA-256 digest only, like
-- oauth_tokens: a copied database yields nothing usable.
-- User access tokens issued through OAuth stay in oauth_tokens (application_id set), so
-- bearer authentication of users has one table to look in.

CREATE TABLE oauth_applications (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    website TEXT,
    redirect_uris TEXT NOT NULL,          -- newline-separated, in registration order
    scopes TEXT NOT NULL,                 -- space-separated
    client_id TEXT NOT NULL UNIQUE,
    client_secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Authorization codes: single-use, short-lived. token_id is the access token a code was
-- exchanged for, revoked when the code is presented again (RFC 6749 section 4.1.2).
CREATE TABLE oauth_codes (
    id INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    application_id INTEGER NOT NULL REFERENCES oauth_applications (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    token_id INTEGER
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

-- Tokens of an application acting for itself (client_credentials): there is no user.
CREATE TABLE oauth_app_tokens (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES oauth_applications (id),
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Refresh tokens, rotated on every use. family_id is the id of the first token of a chain:
-- presenting a refresh token that was already used revokes the whole chain.
CREATE TABLE oauth_refresh_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    access_token_id INTEGER NOT NULL REFERENCES oauth_tokens (id),
    application_id INTEGER NOT NULL REFERENCES oauth_applications (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    family_id INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_access ON oauth_refresh_tokens (access_token_id);

-- Signed-in browsers of the authorization pages. The cookie holds a random secret.
CREATE TABLE oauth_sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX oauth_sessions_expires ON oauth_sessions (expires_at);

-- Per-instance keys (HMAC of CSRF tokens), made once at first use and shared by every process.
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE INDEX oauth_tokens_application ON oauth_tokens (application_id);
