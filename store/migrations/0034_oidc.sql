-- Single sign-on with OpenID Connect (watercooler/oidc.py, watercooler/sso.py, store/oidc.py).
--
-- 1. `oidc_identities`: who a person is at the identity provider, (issuer, subject) — the
--    only stable pair OpenID Connect guarantees (Core 5.7: not the e-mail, not the
--    username) — and the local user it signs in as. One user may have several (a new
--    issuer URL after an IdP migration); an identity is one user's. `synced_display_name`
--    is the display name last taken from the IdP: the display name follows the IdP until
--    the person changes it themselves.
--
-- 2. `oidc_logins`: sign-ins under way, between the redirect to the IdP and its callback:
--    the state (as its SHA-256 digest), the browser it was started in (the digest of a
--    random cookie), the nonce, the PKCE verifier and where to go after. A row is taken
--    (deleted) by the callback that uses it, so a callback replayed finds nothing; rows
--    expire after ten minutes. Kept on the server rather than in a signed cookie so that
--    the PKCE verifier never leaves it, single use is a DELETE, and several tabs may sign
--    in at once.

CREATE TABLE oidc_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    last_sign_in_at TEXT,
    synced_display_name TEXT,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);

CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    next_url TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);
