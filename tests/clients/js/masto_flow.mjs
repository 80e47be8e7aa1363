// What a person does in a masto.js-based app, across two divisions: alice on one instance,
// bob on the other, each with a token from oauth_login.mjs.
//
// config: {"alice": {"url", "token"}, "bob": {"url", "token", "handle"}, "aliceHandle": ...}
// prints one JSON object with what each step answered (see the keys of `result` below).
import { createRestAPIClient } from "masto";

import { assert, config, run, waitFor } from "./lib.mjs";

const client = ({ url, token }) => createRestAPIClient({ url, accessToken: token, timeout: 15_000 });

const pick = (status) => ({
  id: status.id,
  uri: status.uri,
  url: status.url,
  content: status.content,
  visibility: status.visibility,
  account: status.account.acct,
  favouritesCount: status.favouritesCount,
  reblogsCount: status.reblogsCount,
  favourited: status.favourited,
  reblogged: status.reblogged,
  reblogOf: status.reblog ? status.reblog.uri : null,
  reblogReblogged: status.reblog ? status.reblog.reblogged : null,
});

async function main() {
  const cfg = config();
  const alice = client(cfg.alice);
  const bob = client(cfg.bob);
  const result = {};

  const me = await alice.v1.accounts.verifyCredentials();
  result.me = { id: me.id, username: me.username, acct: me.acct, source: Boolean(me.source) };

  const v1 = await alice.v1.instance.fetch();
  const v2 = await alice.v2.instance.fetch();
  result.instance = {
    v1Uri: v1.uri,
    v1Version: v1.version,
    v1MaxCharacters: v1.configuration?.statuses?.maxCharacters ?? null,
    v2Domain: v2.domain,
    v2Version: v2.version,
    v2Streaming: v2.configuration?.urls?.streaming ?? null,
    v2MaxCharacters: v2.configuration?.statuses?.maxCharacters ?? null,
  };

  const posted = await alice.v1.statuses.create({
    status: "Hello from masto.js #watercooler",
    visibility: "public",
  });
  result.posted = pick(posted);
  result.fetched = pick(await alice.v1.statuses.$select(posted.id).fetch());

  const home = await alice.v1.timelines.home.list({ limit: 20 });
  result.homeIds = home.map((status) => status.id);
  const publicTimeline = await alice.v1.timelines.public.list({ limit: 20, local: true });
  result.publicIds = publicTimeline.map((status) => status.id);

  // Find bob on the other division (resolve: WebFinger through alice's server) and follow.
  const found = await alice.v2.search.list({ q: cfg.bob.handle, resolve: true, type: "accounts" });
  result.searchAccounts = found.accounts.map((account) => account.acct);
  const bobThere = found.accounts.find((account) => account.acct === cfg.bob.handle);
  assert(bobThere, `search found ${JSON.stringify(result.searchAccounts)}`);
  const followed = await alice.v1.accounts.$select(bobThere.id).follow();
  result.followAnswer = { following: followed.following, requested: followed.requested };
  const relationship = await waitFor("bob to accept the follow", async () => {
    const [rel] = await alice.v1.accounts.relationships.fetch({ id: [bobThere.id] });
    return rel.following ? rel : null;
  });
  result.relationship = { id: relationship.id, following: relationship.following };

  // bob posts; it arrives in alice's home timeline.
  const bobPost = await bob.v1.statuses.create({ status: "Eng here: the build is green" });
  result.bobPost = pick(bobPost);
  const arrived = await waitFor("bob's post in alice's home timeline", async () => {
    const page = await alice.v1.timelines.home.list({ limit: 40 });
    return page.find((status) => status.uri === bobPost.uri);
  });
  result.arrived = pick(arrived);

  // alice favourites and boosts it (delivered back to bob's division).
  result.favourited = pick(await alice.v1.statuses.$select(arrived.id).favourite());
  const boost = await alice.v1.statuses.$select(arrived.id).reblog();
  result.boost = pick(boost);
  result.statusSearch = (
    await alice.v2.search.list({ q: "build is green", type: "statuses" })
  ).statuses.map((status) => status.uri);

  // bob finds alice's post by its URL, favourites it and follows her: alice is notified.
  const aliceThere = await bob.v2.search.list({ q: posted.uri, resolve: true, type: "statuses" });
  assert(aliceThere.statuses.length === 1, `bob resolved ${JSON.stringify(aliceThere)}`);
  await bob.v1.statuses.$select(aliceThere.statuses[0].id).favourite();
  const aliceAccount = await bob.v1.accounts.lookup({ acct: cfg.aliceHandle });
  await bob.v1.accounts.$select(aliceAccount.id).follow();
  const notifications = await waitFor("alice's notifications", async () => {
    const list = await alice.v1.notifications.list({ limit: 30 });
    const types = new Set(list.map((n) => n.type));
    return types.has("favourite") && types.has("follow") ? list : null;
  });
  result.notifications = notifications.map((n) => ({
    id: n.id,
    type: n.type,
    account: n.account.acct,
    status: n.status ? n.status.uri : null,
  }));
  const bobNotifications = await waitFor("bob's favourite and reblog notifications", async () => {
    const list = await bob.v1.notifications.list({ types: ["favourite", "reblog"] });
    return list.length >= 2 ? list : null;
  });
  result.bobNotifications = bobNotifications.map((n) => ({
    type: n.type,
    account: n.account.acct,
    status: n.status ? n.status.uri : null,
  }));

  // Paging as masto does it: follow the Link header's `next` (path and query) to the end.
  result.homePages = [];
  for await (const page of alice.v1.timelines.home.list({ limit: 2 })) {
    result.homePages.push(page.map((status) => status.id));
    if (result.homePages.length >= 20) {
      break;
    }
  }
  result.homeAll = (await alice.v1.timelines.home.list({ limit: 40 })).map((status) => status.id);
  return result;
}

run(main);
