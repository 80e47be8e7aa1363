-- Questions with an accepted answer (issue 9, point 2; docs/federation.md). A post marked as
-- a question (the API's `question` flag, a `#question` hashtag, the web compose box, or a
-- peer's `wc:isQuestion`) has a row here; its accepted answer is a direct reply to it, set by
-- the asker (locally) or by the question's own host (an Update carrying acceptedAnswer).
CREATE TABLE questions (
    status_id INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    accepted_answer_id INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    accepted_at TEXT,
    created_at TEXT NOT NULL
);
-- The open-questions list: newest first among those without an accepted answer.
CREATE INDEX questions_open ON questions (accepted_answer_id, status_id);
