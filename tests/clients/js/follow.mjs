// A step both media and streaming scripts need: make `follower` follow `handle` (found
// through search with resolve) and wait until the other division has accepted.
import { assert, waitFor } from "./lib.mjs";

export async function follow(follower, handle) {
  const found = await follower.v2.search.list({ q: handle, resolve: true, type: "accounts" });
  const account = found.accounts.find((candidate) => candidate.acct === handle);
  assert(account, `search for ${handle} found ${JSON.stringify(found.accounts)}`);
  await follower.v1.accounts.$select(account.id).follow();
  await waitFor(`the follow of ${handle} to be accepted`, async () => {
    const [rel] = await follower.v1.accounts.relationships.fetch({ id: [account.id] });
    return rel.following;
  });
  return account;
}
