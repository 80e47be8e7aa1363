"""A limited account's posts stay off the public streams of people who do not follow it and
reach those of its followers, on a live server (the streaming fan-out,
watercooler/streaming/fanout.py); the limit is set with `watercooler account limit`."""

from __future__ import annotations

import httpx

from tests.watercooler.test_streaming import (
    WAIT,
    Network,
    about,
    barrier,
    follow,
    network,
    post,
    socket,
    status_events,
    subscribe,
    until,
)

__all__ = ["network"]  # the fixture, shared with test_streaming


async def test_a_limited_accounts_posts_reach_only_its_followers_public_streams(
    network: Network,
) -> None:
    sales = network.sales
    assert sales.cli("user", "add", "dora").returncode == 0
    dora_token = sales.token("dora")
    limited = sales.cli("account", "limit", "carol")
    assert limited.stdout == "carol\tlimited\n", limited.stderr
    dora_api = httpx.AsyncClient(
        base_url=sales.url, headers={"Authorization": f"Bearer {dora_token}"}, timeout=WAIT
    )
    async with network.api("alice") as alice, network.api("carol") as carol, dora_api as dora:
        await follow(dora, "@carol@sales.test")
        async with (
            socket(sales.address, network.tokens["alice"]) as stranger,
            socket(sales.address, dora_token) as follower,
        ):
            await subscribe(stranger, "public:local")
            await subscribe(follower, "public:local")
            limited_post = await post(carol, "Buy my course")
            sentinel = await post(alice, "Lunch at noon")
            await until(follower, about(limited_post))
            seen = await until(stranger, about(sentinel))
            seen += await barrier(stranger)
            assert limited_post not in {status_id for _, _, status_id in status_events(seen)}

            lifted = sales.cli("account", "unlimit", "carol")
            assert lifted.stdout == "carol\tunlimited\n", lifted.stderr
            shown = await post(carol, "Course cancelled")
            await until(stranger, about(shown))
