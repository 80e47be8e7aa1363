-- Division-only posts and the users' own default visibility (issue 6, point 3).
--
-- `statuses.local_only`: the post never leaves this instance (GoToSocial's and Hometown's
-- `local_only`): no activity about it is queued for a remote inbox and it is never served to
-- a remote fetch; local users see it as its visibility says. Boosts and replies of local
-- users inherit it. Nothing else changes: the visibility `org` needs no schema, it is one
-- more value of `statuses.visibility`, and the statuses_count triggers of 0014 already count
-- it (they leave out only 'direct').
--
-- `users.default_visibility`: what a post gets when the client sends no `visibility`
-- (Mastodon's `source[privacy]`); NULL means the instance's `instance.default_visibility`.
ALTER TABLE statuses ADD COLUMN local_only INTEGER NOT NULL DEFAULT 0;

ALTER TABLE users ADD COLUMN default_visibility TEXT;
