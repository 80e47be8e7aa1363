-- The streaming hub tails new statuses, notifications and edits by id (their primary keys)
-- and deletions by time, through this index over tombstones only.
CREATE INDEX statuses_deleted ON statuses (deleted_at) WHERE deleted_at IS NOT NULL;
