-- One live boost per account and post, not one ever: a boost taken back (Undo, or unreblog
-- in an app) keeps its row as a tombstone (deleted_at set), and the index counted that row,
-- so boosting the same post again failed (a 500 in the API, a retried then failed Announce
-- from a peer). Found by the property-based inbox tests (tests/security/test_fuzz_inbox.py).
DROP INDEX statuses_one_boost;
CREATE UNIQUE INDEX statuses_one_boost ON statuses (account_id, reblog_of_id)
    WHERE reblog_of_id IS NOT NULL AND deleted_at IS NULL;
