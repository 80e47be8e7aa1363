-- Peering that IT can change at run time: the peer list, domain blocks, and per-domain
-- counters of what the policy refused.
--
-- `peers`: the divisions this instance federates with. `source` says who listed it:
-- 'config' rows mirror `[[peers]]` (rewritten at each start), 'admin' rows come from
-- `watercooler peer add` or the admin API, 'manifest' rows from the adopted org manifest.
-- `actor_uri` is the peer's instance actor once found; the two instance actors follow each
-- other (rows in `follows`), which carries the organisation timeline.
CREATE TABLE peers (
    domain TEXT PRIMARY KEY,
    name TEXT,
    source TEXT NOT NULL CHECK (source IN ('config', 'admin', 'manifest')),
    actor_uri TEXT,
    added_at TEXT NOT NULL,
    last_attempt_at TEXT,
    last_error TEXT
);

-- Domain blocks for `open` mode (and on top of the allowlist): 'reject' refuses everything
-- to and from the domain (and its subdomains); 'silence' keeps its posts out of public
-- timelines while follows still work.
CREATE TABLE domain_blocks (
    domain TEXT PRIMARY KEY,
    severity TEXT NOT NULL CHECK (severity IN ('reject', 'silence')),
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

-- What the policy refused and which signatures failed, per domain: counted in memory at
-- the edges (a refusal writes nothing on its own path) and added here every few seconds.
CREATE TABLE domain_counters (
    domain TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('refused', 'signature_failed')),
    count INTEGER NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (domain, kind)
) WITHOUT ROWID;

-- One number that changes whenever peers or blocks change, so a running server notices
-- what the CLI (another process) did with one cheap read.
CREATE TABLE policy_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO policy_version (id, version) VALUES (1, 0);

CREATE TRIGGER peers_changed_insert AFTER INSERT ON peers
BEGIN UPDATE policy_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER peers_changed_update AFTER UPDATE OF domain, source ON peers
BEGIN UPDATE policy_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER peers_changed_delete AFTER DELETE ON peers
BEGIN UPDATE policy_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER blocks_changed_insert AFTER INSERT ON domain_blocks
BEGIN UPDATE policy_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER blocks_changed_update AFTER UPDATE ON domain_blocks
BEGIN UPDATE policy_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER blocks_changed_delete AFTER DELETE ON domain_blocks
BEGIN UPDATE policy_version SET version = version + 1 WHERE id = 1; END;
