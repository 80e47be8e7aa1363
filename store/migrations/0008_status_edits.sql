-- Each version of an edited status, oldest first (GET /api/v1/statuses/:id/history).
CREATE TABLE status_edits (
    id INTEGER PRIMARY KEY,
    status_id INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    spoiler_text TEXT NOT NULL,
    sensitive INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);
