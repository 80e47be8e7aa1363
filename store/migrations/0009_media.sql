-- Media attachments of statuses. A local upload has its files under media.path (file_name,
-- preview_name; the bytes are written before the row commits); a remote attachment has only
-- remote_url, its origin's URL (remote files are not downloaded). status_id is NULL until the
-- upload is attached; position orders a status's attachments and is NULL for uploads that an
-- edit took off their status (they stay tied to it, so they cannot move to another post).
CREATE TABLE media_attachments (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    status_id INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    position INTEGER,
    type TEXT NOT NULL DEFAULT 'image',
    content_type TEXT,
    file_name TEXT UNIQUE,
    preview_name TEXT,
    remote_url TEXT,
    description TEXT NOT NULL DEFAULT '',
    blurhash TEXT,
    width INTEGER,
    height INTEGER,
    file_size INTEGER,
    preview_width INTEGER,
    preview_height INTEGER,
    focus_x REAL,
    focus_y REAL,
    created_at TEXT NOT NULL
);
CREATE INDEX media_attachments_status ON media_attachments (status_id, position);
CREATE INDEX media_attachments_account ON media_attachments (account_id, status_id);

-- Profile images: a local account's files under media.path, a remote account's URLs as its
-- actor document gives them (icon, image).
ALTER TABLE accounts ADD COLUMN avatar_file TEXT;
ALTER TABLE accounts ADD COLUMN header_file TEXT;
ALTER TABLE accounts ADD COLUMN avatar_remote_url TEXT;
ALTER TABLE accounts ADD COLUMN header_remote_url TEXT;
