-- The OAuth application a local status was posted with (Mastodon's Status.application);
-- NULL for remote statuses and for posts made without an application (CLI tokens, C2S).
ALTER TABLE statuses ADD COLUMN application_id INTEGER REFERENCES oauth_applications (id);
