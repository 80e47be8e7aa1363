-- The signed org manifest (issue 6, point 7): the organisation's list of divisions, signed
-- with the org key, adopted when it is newer than the one we hold and passed on to peers.
--
-- `org_manifests`: every manifest this instance adopted, newest serial = the one in force
-- (its divisions are the peers with source 'manifest'). Rows are few (one per signed change
-- IT makes) and kept as the record of who changed the peer list when. `body` is the signed
-- JSON document exactly as received, to verify again and pass on; `digest` (SHA-256 of what
-- is signed) tells an equal serial with different content apart. `source` is who offered it:
-- 'cli', 'config' (the [org] manifest file) or a peer's instance actor. `relayed_at` stays
-- NULL until the manifest was handed to the peers' instance actors, so one adopted by the CLI
-- (or before a crash) is still passed on by the running server.
CREATE TABLE org_manifests (
    serial INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    digest TEXT NOT NULL,
    source TEXT NOT NULL,
    adopted_at TEXT NOT NULL,
    relayed_at TEXT
);

-- Manifests that were refused, newest last, for `org status` and the admin API: a bad
-- signature, an older serial, an equal serial with other content, a wrong shape. Bounded:
-- only the newest rows are kept (store.org_manifest.REFUSALS_KEPT).
CREATE TABLE org_manifest_refusals (
    id INTEGER PRIMARY KEY,
    refused_at TEXT NOT NULL,
    source TEXT NOT NULL,
    serial INTEGER,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL
);
