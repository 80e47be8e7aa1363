"""The benchmark dataset builder (bench/dataset.py) at a tiny scale: what it promises about
its data (planted terms, follow groups, materialised homes, tokens, the migrations' schema)
and that a built dataset is kept until its stamp changes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from bench import dataset
from store.db import Database
from store.migrate import migrate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dataset.Dataset:
    return dataset.ensure("tiny", tmp_path_factory.mktemp("work"))


def _one(db: Path, sql: str, *params: object) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def test_planted_terms_match_as_search_matches_them(tiny: dataset.Dataset) -> None:
    for term in tiny.meta["terms"]:
        found = _one(
            tiny.db,
            "SELECT count(*) FROM statuses WHERE deleted_at IS NULL AND reblog_of_id IS NULL"
            " AND (lower(text) LIKE ? OR lower(content) LIKE ?)",
            f"%{term['term']}%",
            f"%{term['term']}%",
        )
        assert found == term["documents"], term
    shares = {term["label"]: term["share_of_posts"] for term in tiny.meta["terms"]}
    assert 0.4 < shares["50%"] < 0.6 and 0.02 < shares["5%"] < 0.09
    assert tiny.meta["terms"][-1]["documents"] == dataset.RARE_TERM_DOCUMENTS


def test_homes_hold_what_fan_out_would_have_written(tiny: dataset.Dataset) -> None:
    for group in dataset.GROUPS:
        for user in tiny.users(group):
            account = user["account_id"]
            expected = _one(
                tiny.db,
                "SELECT count(*) FROM statuses WHERE account_id = ? OR account_id IN"
                " (SELECT target_account_id FROM follows WHERE account_id = ?)",
                account,
                account,
            )
            assert (
                _one(tiny.db, "SELECT count(*) FROM home_timeline WHERE account_id = ?", account)
                == expected
                == user["home_rows"]
            )
            assert user["follows"] == dataset.SCALES["tiny"].follows
    assert all(user["home_rows"] == 0 for user in tiny.users("never"))
    assert all(user["home_rows"] > 0 for user in tiny.users("typical"))
    most_by_a_rare_author = _one(
        tiny.db,
        "SELECT max(n) FROM (SELECT count(*) AS n FROM statuses WHERE account_id IN"
        " (SELECT target_account_id FROM follows WHERE account_id = ?) GROUP BY account_id)",
        tiny.users("rarely")[0]["account_id"],
    )
    assert 1 <= most_by_a_rare_author <= 3


def test_every_group_user_has_a_working_token(tiny: dataset.Dataset) -> None:
    for group in dataset.GROUPS:
        user = tiny.users(group)[0]
        digest = hashlib.sha256(user["token"].encode()).hexdigest()
        owner = _one(
            tiny.db,
            "SELECT u.account_id FROM oauth_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = ?",
            digest,
        )
        assert owner == user["account_id"]


async def test_the_schema_is_the_migrations_own(tiny: dataset.Dataset, tmp_path: Path) -> None:
    async with Database(tmp_path / "fresh.sqlite3") as fresh:
        await migrate(fresh.writer)

    def schema(db: Path) -> set[tuple[str, str]]:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            )
            return {(name, sql or "") for name, sql in rows}

    assert schema(tiny.db) == schema(tmp_path / "fresh.sqlite3")
    with sqlite3.connect(tiny.db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_kept_dataset_is_reused_until_its_stamp_changes(tiny: dataset.Dataset) -> None:
    built = tiny.db.stat().st_mtime_ns
    assert dataset.ensure("tiny", tiny.folder.parent.parent).db.stat().st_mtime_ns == built
    meta_path = tiny.folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["stamp"] = "from an older builder"
    meta_path.write_text(json.dumps(meta))
    rebuilt = dataset.ensure("tiny", tiny.folder.parent.parent)
    assert rebuilt.meta["stamp"] == dataset.stamp(dataset.SCALES["tiny"])
    assert rebuilt.db.stat().st_mtime_ns != built
