"""Signers' keys held in memory by the inbox: a known key is asked of the store once, a
refresh after failed signatures happens at most once per interval (a flood of forged ones
costs nothing), prefers a newer key already in the store, and a forgotten key is read again."""

from __future__ import annotations

from federation.keys import generate_rsa_keypair, load_public_key
from federation.signatures import ResolvedKey
from inbox.intake_keys import IntakeKeys, StoredKey

KEY_ID = "http://b.test/users/bob#main-key"
PUBLIC = load_public_key(generate_rsa_keypair().public_pem)


def stored(row_id: int | None) -> StoredKey:
    return StoredKey(ResolvedKey(KEY_ID, "http://b.test/users/bob", PUBLIC), row_id)


class Source:
    """The store and the key's origin: `rows` is what the store holds over time; a refresh
    fetches and stores `fetched` (None: the fetch fails)."""

    def __init__(self, row_id: int | None, fetched: int | None = None) -> None:
        self.row_id = row_id
        self.fetched = fetched
        self.reads = 0
        self.fetches = 0

    async def lookup(self, key_id: str, *, refresh: bool = False) -> StoredKey | None:
        if refresh:
            self.fetches += 1
            if self.fetched is None:
                return None
            self.row_id = self.fetched
        else:
            self.reads += 1
        return stored(self.row_id) if self.row_id is not None else None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_known_key_is_read_from_the_store_once() -> None:
    source = Source(row_id=7)
    keys = IntakeKeys(source)
    for _ in range(20):
        found = await keys.lookup(KEY_ID)
        assert found is not None and found.row_id == 7
    assert (source.reads, source.fetches) == (1, 0)


async def test_a_refresh_happens_at_most_once_per_interval() -> None:
    source, clock = Source(row_id=7, fetched=None), Clock()
    keys = IntakeKeys(source, refresh_interval=30.0, monotonic=clock)
    await keys.lookup(KEY_ID)
    assert await keys.lookup(KEY_ID, refresh=True) is None  # the origin is down
    assert (source.reads, source.fetches) == (2, 1)
    for _ in range(50):  # forged signatures: turned away from memory
        found = await keys.lookup(KEY_ID, refresh=True)
        assert found is not None and found.row_id == 7
    assert (source.reads, source.fetches) == (2, 1)
    clock.now += 31
    source.fetched = 8  # the peer rotated its key meanwhile
    found = await keys.lookup(KEY_ID, refresh=True)
    assert found is not None and found.row_id == 8
    assert (source.reads, source.fetches) == (3, 2)
    assert (await keys.lookup(KEY_ID)) == found  # and it is the one held now


async def test_a_refresh_takes_a_newer_key_from_the_store_without_fetching() -> None:
    source = Source(row_id=7, fetched=9)
    keys = IntakeKeys(source)
    await keys.lookup(KEY_ID)
    source.row_id = 8  # stored meanwhile by another process (an Update(Person))
    found = await keys.lookup(KEY_ID, refresh=True)
    assert found is not None and found.row_id == 8
    assert source.fetches == 0


async def test_a_forgotten_key_is_read_again_and_only_that_row_is_forgotten() -> None:
    source = Source(row_id=7)
    keys = IntakeKeys(source)
    await keys.lookup(KEY_ID)
    keys.forget(KEY_ID, 6)  # some older row: the key held is kept
    await keys.lookup(KEY_ID)
    assert source.reads == 1
    keys.forget(KEY_ID, 7)
    source.row_id = 8
    found = await keys.lookup(KEY_ID)
    assert found is not None and found.row_id == 8 and source.reads == 2


async def test_keys_never_stored_are_not_held_and_memory_is_bounded() -> None:
    source = Source(row_id=None, fetched=None)
    keys = IntakeKeys(source, size=8)
    assert await keys.lookup(KEY_ID) is None
    assert len(keys) == 0
    source.row_id = 1
    for n in range(100):
        await keys.lookup(f"http://b.test/users/u{n}#main-key")
    assert len(keys) <= 8


async def test_the_signer_tells_which_stored_key_verified() -> None:
    keys = IntakeKeys(Source(row_id=7))
    signer = keys.signer()
    resolved = await signer.resolve_key(KEY_ID)
    assert resolved is not None and resolved.owner == "http://b.test/users/bob"
    assert signer.used is not None and signer.used.row_id == 7
