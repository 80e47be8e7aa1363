"""The large benchmark dataset (S3 home timelines, S4 search): an instance database with N
statuses by M accounts, built in bulk through `store.bulk` and kept between runs.

What it holds, at full scale (1,000,000 statuses by 20,000 accounts; `--quick`: 50,000 by
2,000):
- 10% local accounts (users with bearer tokens), 90% remote ones on four peer domains.
- Skewed activity: 15% of the accounts never post, 15% post 1-3 times, the rest post by a
  Zipf law (exponent 0.8: the busiest tenth of them writes about 60% of everything).
- Texts of 100-500 characters from a Zipf-weighted word list, hashtags, 10% replies (with
  the mention), 3% boosts, mostly public; local posts carry source text and rendered HTML,
  remote ones HTML only, as the product stores them.
- Search terms planted in a known share of the posts (`TERMS`); their document counts are
  counted on the stored text and HTML with the product's matching rule (any case, substring).
- Home timelines materialised as the product's fan-out writes them: each status in the home
  of its author (if local) and of each local follower.
- Benchmark users in four groups, each following `Scale.follows` accounts: `typical` (30%
  picked by activity, the rest at random), `uniform` (at random), `rarely` (accounts that
  posted 1-3 times), `never` (accounts that never posted: the case where a plan over
  follows scans statuses). They post nothing themselves. Every local user has a token.

The database is `bench/work/datasets/<scale>/db.sqlite3`, with `meta.json` (terms, groups,
tokens, counts) and `watercooler.toml` (workers off) beside it. `meta.json` carries a stamp
of the scale, `BUILDER_VERSION` and the migration file names: a changed builder or a new
migration rebuilds. `python -m bench.dataset [quick|full]` builds one ahead of a run.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
import secrets
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import world
from federation.keys import generate_rsa_keypair
from federation.uris import Uris
from store import bulk, search_index
from store.db import Database, db_time
from store.migrate import available_migrations, migrate
from watercooler.accounts import ensure_instance_actor, hash_token, local_account
from watercooler.passwords import hash_password
from watercooler.search_indexer import index_row

BUILDER_VERSION = 3
GROUPS = ("typical", "uniform", "rarely", "never")
PEERS = ("remote.bench", "sales.bench", "eng.bench", "hr.bench")
DAYS = 180
BATCH = 50_000
ZIPF_POSTS = 0.8
ZIPF_WORDS = 1.0
NEVER_SHARE = 0.15
RARE_SHARE = 0.15
REPLY_SHARE = 0.10
BOOST_SHARE = 0.03
RARE_TERM_DOCUMENTS = 20


@dataclass(frozen=True)
class Term:
    """A planted search term: in `share` of the posts, or in exactly `documents` posts."""

    label: str
    word: str
    share: float = 0.0
    documents: int = 0


TERMS = (
    Term("50%", "project", share=0.50),
    Term("5%", "roadmap", share=0.05),
    Term("0.2%", "kubernetes", share=0.002),
    Term("20 docs", "quokka", documents=RARE_TERM_DOCUMENTS),
)


@dataclass(frozen=True)
class Scale:
    name: str
    statuses: int
    accounts: int
    local_users: int
    follows: int  # per benchmark user
    group_users: int  # benchmark users per group
    local_follows: int  # per other local user
    seed: int = 5


SCALES = {
    "full": Scale("full", 1_000_000, 20_000, 2_000, 1_000, 10, 100),
    "100k": Scale("100k", 100_000, 4_000, 400, 400, 5, 40),
    "quick": Scale("quick", 50_000, 2_000, 200, 200, 5, 20),
    "tiny": Scale("tiny", 3_000, 300, 30, 20, 2, 5),
}

# Everyday words of an office; none contains a planted term (checked at build).
WORDS = """the a to and of in for is on we it this that with be are our at will have
you from by as can i just team meeting today new please all about an week up if next
so do out more thanks need time work has not one get any what know who here also there
when some into help should review release update customer plan call like would good
they see been was support data office sales share notes looking question going let back
still after make first people thursday friday monday morning afternoon could issue fix
build test deploy service api design doc draft feedback launch quarter goal budget hire
welcome onboarding lunch coffee kitchen floor building badge travel visit client partner
contract invoice report dashboard metric number growth revenue cost forecast target
scope timeline milestone deadline sprint backlog ticket incident outage alert pager
rotation security audit policy compliance legal privacy training session workshop demo
slide deck template brand campaign event conference booth webinar newsletter survey
results team lead manager director engineer designer analyst writer support agent
question answer thread channel reply thanks great nice cool agree idea proposal vote
option choice decision approve approved merged shipped fixed closed opened moved
tomorrow yesterday later soon early late quick short long small big large hard easy
clear open close check change improve reduce increase keep start stop finish done
ready blocked waiting pending draft final version branch main server database cache
queue worker job script tool laptop printer network wifi password account access
request form process step guide how why where which because while before during
until every each both few many most other such only own same than too very well
even much again further then once under over between through against above below
""".split()
WORDS = list(dict.fromkeys(WORDS))

TAGS = """announcement engineering sales hr it security release onboarding lunch
allhands weekly retro design marketing finance legal support incident hiring travel
office remote wellness learning books music coffee dogs cats photography running
cycling gardening cooking events volunteering charity sustainability accessibility
diversity mentoring""".split()


@dataclass
class Dataset:
    """A built dataset: where it is and what `meta.json` says about it."""

    folder: Path
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        return self.folder / "db.sqlite3"

    @property
    def config(self) -> Path:
        return self.folder / "watercooler.toml"

    def users(self, group: str) -> list[dict[str, Any]]:
        """The benchmark users of `group`: username, account_id, token, follows, home_rows."""
        return list(self.meta["groups"][group])


def stamp(scale: Scale) -> str:
    """What a kept dataset must match: the scale, the builder and the schema."""
    migrations = [name for _, name, _ in available_migrations()]
    key = {"scale": asdict(scale), "builder": BUILDER_VERSION, "migrations": migrations}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def ensure(scale_name: str, work: Path) -> Dataset:
    """The dataset of `scale_name` under `work/datasets`, built if missing or stale."""
    scale = SCALES[scale_name]
    folder = work / "datasets" / scale.name
    meta_path = folder / "meta.json"
    if meta_path.exists() and (folder / "db.sqlite3").exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("stamp") == stamp(scale):
            return Dataset(folder, meta)
        print(f"dataset {scale.name}: stale (builder or migrations changed), rebuilding")
    return build(scale, folder)


def build(scale: Scale, folder: Path) -> Dataset:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.monotonic()
    meta = asyncio.run(_Builder(scale, folder).run())
    (folder / "building.sqlite3").rename(folder / "db.sqlite3")
    world.write_config(folder, workers=False)
    meta["build_seconds"] = round(time.monotonic() - started, 1)
    meta["db_bytes"] = (folder / "db.sqlite3").stat().st_size
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(
        f"dataset {scale.name}: built in {meta['build_seconds']} s,"
        f" {meta['db_bytes'] / 2**20:.0f} MiB",
        flush=True,
    )
    return Dataset(folder, meta)


def _cumulative(count: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**exponent) for rank in range(1, count + 1)))


def _check_vocabulary() -> None:
    """A planted term must occur only where it was planted."""
    words = [*WORDS, *TAGS, *PEERS, world.DOMAIN, "user", "http", "class", "mention", "hashtag"]
    for term in TERMS:
        clash = [w for w in words if term.word in w]
        if clash:
            raise ValueError(f"planted term {term.word!r} clashes with {clash}")


@dataclass(frozen=True)
class _Account:
    index: int
    id: int
    username: str
    domain: str | None
    uri: str
    url: str

    @property
    def local(self) -> bool:
        return self.domain is None

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"


class _Builder:
    def __init__(self, scale: Scale, folder: Path) -> None:
        _check_vocabulary()
        self.scale = scale
        self.path = folder / "building.sqlite3"
        self.rng = random.Random(scale.seed)
        self.uris = Uris(world.BASE_URL)
        end = datetime.now(UTC).replace(second=0, microsecond=0)
        self.end_ms = int(end.timestamp() * 1000) - 60_000
        self.start_ms = self.end_ms - DAYS * 86_400_000
        self._next_id = (self.start_ms - 86_400_000) << 16
        self.created = db_time(datetime.fromtimestamp((self.start_ms - 86_400_000) / 1000, UTC))
        self.accounts: list[_Account] = []
        self.posts: list[int] = []  # statuses per account index
        self.by_author: dict[int, list[int]] = {}  # account index -> status ids
        self.follows: dict[int, list[int]] = {}  # local account index -> followed indices
        self.groups: dict[str, list[int]] = {}
        self.rare: list[int] = []
        self.never: list[int] = []
        self.term_counts = {term.word: 0 for term in TERMS}
        self.counts: dict[str, int] = {}
        self.started = time.monotonic()

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def progress(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"dataset {self.scale.name}: {text} ({elapsed:.0f} s)", flush=True)

    async def run(self) -> dict[str, Any]:
        db = Database(self.path, readers=1)
        await db.open()
        try:
            await migrate(db.writer)
            await ensure_instance_actor(db, self.uris, world.DOMAIN, datetime.now(UTC))
        finally:
            await db.close()
        conn = await bulk.open_loader(str(self.path))
        try:
            await bulk.begin(conn)
            tokens = await self._accounts(conn)
            self._activity()
            self._choose_follows()
            await self._follows(conn)
            await bulk.commit(conn)
            self.progress("accounts, users, keys, tokens and follows loaded")
            await self._statuses(conn)
            await self._home(conn)
            await self._search(conn)
            await bulk.begin(conn)
            await bulk.recount_replies(conn)
            await bulk.recount_reblogs(conn)
            await bulk.commit(conn)
        finally:
            await bulk.close_loader(conn)
        self.progress("done")
        return self._meta(tokens)

    # ----- accounts --------------------------------------------------------------------------

    async def _accounts(self, conn: bulk.Connection) -> dict[str, str]:
        """Accounts, users, keys and tokens; returns username -> token for local users."""
        scale = self.scale
        bench_names = [f"{group}{k}" for group in GROUPS for k in range(scale.group_users)]
        rows, users, keys, token_rows = [], [], [], []
        tokens: dict[str, str] = {}
        password_hash, pair = await asyncio.gather(
            asyncio.to_thread(hash_password, world.PASSWORD),
            asyncio.to_thread(generate_rsa_keypair),
        )
        for index in range(scale.accounts):
            account_id = self.new_id()
            if index < scale.local_users:
                name = bench_names[index] if index < len(bench_names) else f"user{index}"
                new = local_account(name, self.uris)
                rows.append(
                    (account_id, name, None, new.uri, new.url, "Person", name.capitalize(),
                     new.inbox_url, new.outbox_url, new.shared_inbox_url, new.followers_url,
                     new.following_url, new.featured_url, self.created, self.created, None)
                )  # fmt: skip
                user_id = self.new_id()
                users.append((user_id, account_id, password_hash, 0, self.created))
                keys.append(
                    (self.new_id(), account_id, self.uris.key_id(name), pair.public_pem,
                     pair.private_pem, self.created)
                )  # fmt: skip
                secret = secrets.token_urlsafe(32)
                tokens[name] = secret
                token_rows.append(
                    (self.new_id(), user_id, hash_token(secret), "read write follow", self.created)
                )
                self.accounts.append(
                    _Account(index, account_id, name, None, new.uri, new.url or new.uri)
                )
            else:
                name, domain = f"a{index}", PEERS[index % len(PEERS)]
                uri = f"http://{domain}/users/{name}"
                rows.append(
                    (account_id, name, domain, uri, f"http://{domain}/@{name}", "Person",
                     name.capitalize(), f"{uri}/inbox", f"{uri}/outbox", f"http://{domain}/inbox",
                     f"{uri}/followers", f"{uri}/following", f"{uri}/collections/featured",
                     self.created, self.created, self.created)
                )  # fmt: skip
                keys.append(
                    (self.new_id(), account_id, f"{uri}#main-key", pair.public_pem, None,
                     self.created)
                )  # fmt: skip
                self.accounts.append(
                    _Account(index, account_id, name, domain, uri, f"http://{domain}/@{name}")
                )
        await bulk.insert(conn, "accounts", rows)
        await bulk.insert(conn, "users", users)
        await bulk.insert(conn, "keys", keys)
        await bulk.insert(conn, "oauth_tokens", token_rows)
        self.counts.update(accounts=len(rows), local_users=len(users))
        return tokens

    def _activity(self) -> None:
        """How many statuses each account writes: never, rarely (1-3) or by a Zipf law."""
        scale, rng = self.scale, self.rng
        bench_count = len(GROUPS) * scale.group_users
        others = list(range(bench_count, scale.accounts))
        rng.shuffle(others)
        never_n = int(scale.accounts * NEVER_SHARE) - bench_count
        rare_n = int(scale.accounts * RARE_SHARE)
        self.never = sorted(others[:never_n])
        self.rare = sorted(others[never_n : never_n + rare_n])
        active = others[never_n + rare_n :]
        self.posts = [0] * scale.accounts
        for index in self.rare:
            self.posts[index] = rng.randint(1, 3)
        remaining = scale.statuses - sum(self.posts)
        weights = [1.0 / rank**ZIPF_POSTS for rank in range(1, len(active) + 1)]
        total = sum(weights)
        for index, weight in zip(active, weights, strict=True):
            self.posts[index] = max(1, int(remaining * weight / total))
        self.posts[active[0]] += scale.statuses - sum(self.posts)
        for group, start in zip(GROUPS, range(0, bench_count, scale.group_users), strict=True):
            self.groups[group] = list(range(start, start + scale.group_users))

    def _choose_follows(self) -> None:
        scale, rng = self.scale, self.rng
        bench = {index for members in self.groups.values() for index in members}
        candidates = [i for i in range(scale.accounts) if i not in bench]
        active = [i for i in candidates if self.posts[i] > 3]
        cumulative = list(itertools.accumulate(self.posts[i] for i in active))
        for index in range(len(bench), scale.local_users):
            chosen = set(rng.sample(candidates, scale.local_follows + 1)) - {index}
            self.follows[index] = sorted(chosen)[: scale.local_follows]
        for group, members in self.groups.items():
            for index in members:
                if group == "typical":
                    popular = scale.follows * 3 // 10
                    chosen: set[int] = set()
                    while len(chosen) < popular:
                        chosen.update(rng.choices(active, cum_weights=cumulative, k=popular))
                    chosen = set(sorted(chosen)[:popular])
                    rest = [i for i in candidates if i not in chosen]
                    chosen.update(rng.sample(rest, scale.follows - popular))
                elif group == "uniform":
                    chosen = set(rng.sample(candidates, scale.follows))
                elif group == "rarely":
                    chosen = set(rng.sample(self.rare, scale.follows))
                else:
                    chosen = set(rng.sample(self.never, scale.follows))
                self.follows[index] = sorted(chosen)

    async def _follows(self, conn: bulk.Connection) -> None:
        rows = []
        for index, targets in self.follows.items():
            follower = self.accounts[index]
            for target in targets:
                follow_id = self.new_id()
                uri = self.uris.activity(follower.username, "follows", follow_id)
                rows.append(
                    (follow_id, follower.id, self.accounts[target].id, uri, "accepted",
                     self.created, self.created)
                )  # fmt: skip
        await bulk.insert(conn, "follows", rows)
        self.counts["follows"] = len(rows)

    # ----- statuses --------------------------------------------------------------------------

    def _times(self) -> list[int]:
        """Increasing status ids over the last DAYS days (milliseconds << 16 | sequence)."""
        stamps = sorted(
            self.rng.randrange(self.start_ms, self.end_ms) for _ in range(self.scale.statuses)
        )
        ids, last_ms, sequence = [], -1, 0
        for ms in stamps:
            sequence = sequence + 1 if ms == last_ms else 0
            last_ms = ms
            ids.append((ms << 16) | sequence)
        return ids

    def _words(self) -> Iterator[list[str]]:
        """Endless word lists of 100-500 characters, Zipf-weighted."""
        rng = self.rng
        cumulative = _cumulative(len(WORDS), ZIPF_WORDS)
        weights = [1.0 / rank**ZIPF_WORDS for rank in range(1, len(WORDS) + 1)]
        mean = sum((len(w) + 1) * x for w, x in zip(WORDS, weights, strict=True)) / sum(weights)
        stream = rng.choices(WORDS, cum_weights=cumulative, k=200_000)
        position = 0
        while True:
            count = max(3, round(rng.randint(100, 500) / mean))
            if position + count > len(stream):
                rng.shuffle(stream)
                position = 0
            yield stream[position : position + count]
            position += count

    def _tags(self) -> Iterator[list[str]]:
        rng = self.rng
        cumulative = _cumulative(len(TAGS), 1.0)
        while True:
            draw = rng.random()
            count = 0 if draw < 0.6 else 1 if draw < 0.9 else 2
            yield sorted(set(rng.choices(TAGS, cum_weights=cumulative, k=count)))

    async def _statuses(self, conn: bulk.Connection) -> None:
        scale, rng = self.scale, self.rng
        ids = self._times()
        authors = [index for index, n in enumerate(self.posts) for _ in range(n)]
        rng.shuffle(authors)
        rare_docs = set(rng.sample(range(scale.statuses), RARE_TERM_DOCUMENTS))
        words, tags = self._words(), self._tags()
        originals: list[int] = []  # positions of public/unlisted non-boost statuses
        boosted: set[tuple[int, int]] = set()
        conversation: list[str] = [""] * scale.statuses
        rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[int, str]] = []
        mention_rows: list[tuple[int, int]] = []
        pending_rare = 0
        replies = boosts = 0
        for position, (status_id, author_index) in enumerate(zip(ids, authors, strict=True)):
            author = self.accounts[author_index]
            self.by_author.setdefault(author_index, []).append(status_id)
            pending_rare += position in rare_docs
            created = db_time(datetime.fromtimestamp((status_id >> 16) / 1000, UTC))
            base = (
                self.uris.status(author.username, status_id)
                if author.local
                else f"{author.uri}/statuses/{status_id}"
            )
            url = (
                self.uris.status_url(author.username, status_id)
                if author.local
                else f"{author.url}/{status_id}"
            )
            if originals and rng.random() < BOOST_SHARE:
                target = originals[rng.randrange(max(0, len(originals) - 5000), len(originals))]
                target_author = authors[target]
                if target_author != author_index and (author_index, target) not in boosted:
                    boosted.add((author_index, target))
                    boosts += 1
                    conversation[position] = conversation[target]
                    rows.append(
                        (status_id, f"{base}/activity", None, author.id, int(author.local),
                         f"{base}/activity", None, None, None, ids[target], None, "public", "",
                         "", None, created)
                    )  # fmt: skip
                    continue
            parent = None
            if originals and rng.random() < REPLY_SHARE:
                parent = originals[rng.randrange(max(0, len(originals) - 2000), len(originals))]
            draw = rng.random()
            visibility = "public" if draw < 0.90 else "unlisted" if draw < 0.96 else "private"
            body = list(next(words))
            for term in TERMS:
                if term.share and rng.random() < term.share:
                    body.insert(rng.randrange(len(body) + 1), term.word)
            if pending_rare:
                body.insert(rng.randrange(len(body) + 1), TERMS[-1].word)
                pending_rare -= 1
            body[0] = body[0].capitalize()
            text = " ".join(body) + "."
            html = text
            status_tags = next(tags)
            host = world.BASE_URL if author.local else f"http://{author.domain}"
            for name in status_tags:
                text += f" #{name}"
                html += (
                    f' <a href="{host}/tags/{name}" class="mention hashtag"'
                    f' rel="tag">#<span>{name}</span></a>'
                )
                tag_rows.append((status_id, name))
            reply_fields: tuple[Any, ...] = (None, None, None)
            if parent is not None:
                replies += 1
                parent_author = self.accounts[authors[parent]]
                reply_fields = (
                    ids[parent],
                    self._uri(parent_author, ids[parent]),
                    parent_author.id,
                )
                conversation[position] = conversation[parent]
                if parent_author.index != author_index:
                    mention_rows.append((status_id, parent_author.id))
                    text = f"@{parent_author.acct} {text}"
                    html = (
                        f'<span class="h-card" translate="no"><a href="{parent_author.url}"'
                        f' class="u-url mention">@<span>{parent_author.username}</span></a>'
                        f"</span> {html}"
                    )
            else:
                conversation[position] = (
                    f"{world.BASE_URL}/contexts/{status_id}"
                    if author.local
                    else f"tag:{author.domain},2024:objectId={status_id}:objectType=Conversation"
                )
            content = f"<p>{html}</p>"
            lowered = content.lower()
            for term in TERMS:
                if term.word in lowered or (author.local and term.word in text.lower()):
                    self.term_counts[term.word] += 1
            if visibility != "private":
                originals.append(position)
            rows.append(
                (status_id, base, url, author.id, int(author.local), f"{base}/activity",
                 *reply_fields, None, conversation[position], visibility,
                 text if author.local else "", content, "en", created)
            )  # fmt: skip
            if len(rows) >= BATCH:
                await self._write_statuses(conn, rows, tag_rows, mention_rows)
                rows, tag_rows, mention_rows = [], [], []
                self.progress(f"statuses {position + 1:,}/{scale.statuses:,}")
        await self._write_statuses(conn, rows, tag_rows, mention_rows)
        self.counts.update(statuses=scale.statuses, replies=replies, boosts=boosts)
        self.id_range = (ids[0], ids[-1])
        self.progress(
            f"statuses {scale.statuses:,} loaded ({replies:,} replies, {boosts:,} boosts)"
        )

    def _uri(self, account: _Account, status_id: int) -> str:
        if account.local:
            return self.uris.status(account.username, status_id)
        return f"{account.uri}/statuses/{status_id}"

    async def _write_statuses(
        self,
        conn: bulk.Connection,
        rows: Sequence[tuple[Any, ...]],
        tag_rows: Sequence[tuple[int, str]],
        mention_rows: Sequence[tuple[int, int]],
    ) -> None:
        await bulk.begin(conn)
        await bulk.insert(conn, "statuses", rows)
        await bulk.insert(conn, "status_tags", tag_rows)
        await bulk.insert(conn, "status_mentions", mention_rows)
        await bulk.commit(conn)

    # ----- home timelines --------------------------------------------------------------------

    async def _home(self, conn: bulk.Connection) -> None:
        """Each local reader's home: own statuses and those of everyone followed, in key order."""
        rows: list[tuple[int, int]] = []
        total = 0
        self.home_rows: dict[int, int] = {}
        await bulk.begin(conn)
        for index in range(self.scale.local_users):
            reader = self.accounts[index].id
            authors = [index, *self.follows.get(index, [])]
            status_ids = sorted(
                itertools.chain.from_iterable(self.by_author.get(a, ()) for a in authors)
            )
            self.home_rows[index] = len(status_ids)
            rows.extend((reader, status_id) for status_id in status_ids)
            if len(rows) >= 20 * BATCH:
                await bulk.insert(conn, "home_timeline", rows)
                total += len(rows)
                rows = []
                self.progress(f"home rows {total:,} (readers {index + 1}/{self.scale.local_users})")
        await bulk.insert(conn, "home_timeline", rows)
        await bulk.commit(conn)
        self.counts["home_rows"] = total + len(rows)
        self.progress(f"home rows {self.counts['home_rows']:,} loaded")

    # ----- search ----------------------------------------------------------------------------

    async def _search(self, conn: bulk.Connection) -> None:
        """The full-text index, built by the product's own indexer code from the queue the
        triggers filled, in large batches, then merged into one segment."""
        indexed = 0
        while True:
            await bulk.begin(conn)
            entries = await search_index.queued(conn, 10_000)
            if not entries:
                await bulk.commit(conn)
                break
            found = await search_index.sources(conn, [entry.status_id for entry in entries])
            rows = [index_row(source) for source in found.values()]
            await search_index.write(conn, entries, rows)
            await bulk.commit(conn)
            indexed += len(rows)
            self.progress(f"search index: {indexed:,} statuses")
        await search_index.optimize(conn)

    # ----- meta ------------------------------------------------------------------------------

    def _meta(self, tokens: dict[str, str]) -> dict[str, Any]:
        top = sorted(range(len(self.posts)), key=lambda i: -self.posts[i])[:5]
        posting = sorted(self.posts, reverse=True)
        busiest_tenth = sum(posting[: max(1, len(posting) // 10)])
        posts = self.scale.statuses - self.counts["boosts"]  # what search looks at
        return {
            "stamp": stamp(self.scale),
            "builder_version": BUILDER_VERSION,
            "migrations": [name for _, name, _ in available_migrations()],
            "scale": asdict(self.scale),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "counts": self.counts,
            "busiest_tenth_share": round(busiest_tenth / self.scale.statuses, 3),
            "id_range": list(self.id_range),
            "terms": [
                {
                    "label": term.label,
                    "term": term.word,
                    "documents": self.term_counts[term.word],
                    "share_of_posts": round(self.term_counts[term.word] / posts, 5),
                }
                for term in TERMS
            ],
            "groups": {
                group: [
                    {
                        "username": self.accounts[index].username,
                        "account_id": self.accounts[index].id,
                        "token": tokens[self.accounts[index].username],
                        "follows": len(self.follows[index]),
                        "home_rows": self.home_rows[index],
                    }
                    for index in members
                ]
                for group, members in self.groups.items()
            },
            "busiest_accounts": [
                {
                    "account_id": self.accounts[i].id,
                    "acct": self.accounts[i].acct,
                    "statuses": self.posts[i],
                }
                for i in top
            ],
            "tokens": tokens,
        }


def depth_id(meta: dict[str, Any], fraction: float) -> int:
    """A status id `fraction` of the way from the oldest (0.0) to the newest (1.0) status."""
    low, high = meta["id_range"]
    return int(low + (high - low) * fraction)


def main(argv: Sequence[str]) -> int:
    name = argv[0] if argv else "quick"
    if name not in SCALES:
        print(f"usage: python -m bench.dataset [{'|'.join(SCALES)}]", file=sys.stderr)
        return 2
    dataset = ensure(name, Path(__file__).resolve().parent / "work")
    summary = {key: dataset.meta[key] for key in ("counts", "terms", "build_seconds", "db_bytes")}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
