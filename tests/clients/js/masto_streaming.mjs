// Streaming: alice follows bob on the other division, opens masto's WebSocket client (the
// token goes in the Sec-WebSocket-Protocol header, as masto sends it) and subscribes to her
// user stream. Her own post proves the subscription is live; then bob posts and the remote
// post must arrive on the stream as an `update`.
//
// config: {"alice": {"url", "token"}, "bob": {"url", "token", "handle"}, "streamingUrl"}
import { createRestAPIClient, createStreamingAPIClient } from "masto";

import { follow } from "./follow.mjs";
import { assert, calls, config, run } from "./lib.mjs";

const client = ({ url, token }) => createRestAPIClient({ url, accessToken: token, timeout: 15_000 });

const summary = (event) => ({
  event: event.event,
  stream: event.stream,
  id: event.payload?.id ?? null,
  uri: event.payload?.uri ?? null,
  account: event.payload?.account?.acct ?? null,
});

/** The next event of `events` that `wanted` accepts, within `ms`. */
async function next(events, wanted, what, ms = 30_000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} on the stream within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      (async () => {
        for (;;) {
          const { value, done } = await events.next();
          assert(!done, `the stream ended before ${what}`);
          if (wanted(value)) {
            return value;
          }
        }
      })(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const cfg = config();
  const alice = client(cfg.alice);
  const bob = client(cfg.bob);
  await follow(alice, cfg.bob.handle);

  const streaming = createStreamingAPIClient({
    streamingApiUrl: cfg.streamingUrl,
    accessToken: cfg.alice.token,
    retry: 3,
  });
  try {
    await streaming.prepare();
    calls.push("WS /api/v1/streaming (token in Sec-WebSocket-Protocol)");
    const events = streaming.user.subscribe().values();
    // The first next() sends {"type":"subscribe","stream":"user"}; the probe is posted after.
    const marker = `Listening on the stream ${Date.now()}`;
    const first = next(
      events,
      (event) => event.event === "update" && event.payload?.content?.includes(marker),
      "update for alice's own post",
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const probe = await alice.v1.statuses.create({ status: marker });
    const probeEvent = await first;
    assert(probeEvent.payload.id === probe.id, `${probeEvent.payload.id} is not ${probe.id}`);

    const bobPost = await bob.v1.statuses.create({ status: "Deploy finished on eng" });
    const remote = await next(
      events,
      (event) => event.event === "update" && event.payload?.uri === bobPost.uri,
      "update for bob's post",
    );
    return { probe: summary(probeEvent), remote: summary(remote), bobPost: { uri: bobPost.uri } };
  } finally {
    streaming.close();
  }
}

run(main);
