// Media: alice uploads an image with masto's v2.media.create (multipart POST /api/v2/media,
// then masto polls GET /api/v1/media/:id until the attachment has a URL), posts it, and bob,
// who follows her from the other division, sees the post arrive with its attachment.
//
// config: {"alice": {"url", "token", "handle"}, "bob": {"url", "token"}, "file", "description"}
import { readFileSync } from "node:fs";
import { basename } from "node:path";

import { createRestAPIClient } from "masto";

import { follow } from "./follow.mjs";
import { config, run, waitFor } from "./lib.mjs";

const client = ({ url, token }) =>
  createRestAPIClient({ url, accessToken: token, timeout: 15_000, mediaTimeout: 30_000 });

const attachment = (media) => ({
  id: media.id,
  type: media.type,
  url: media.url,
  previewUrl: media.previewUrl,
  remoteUrl: media.remoteUrl ?? null,
  description: media.description,
  blurhash: media.blurhash ?? null,
  meta: media.meta ?? null,
});

async function main() {
  const cfg = config();
  const alice = client(cfg.alice);
  const bob = client(cfg.bob);
  await follow(bob, cfg.alice.handle);

  const file = new File([readFileSync(cfg.file)], basename(cfg.file), { type: "image/png" });
  const media = await alice.v2.media.create({ file, description: cfg.description });
  const status = await alice.v1.statuses.create({
    status: "The chart for this quarter",
    mediaIds: [media.id],
  });
  const arrived = await waitFor("alice's post with media in bob's home timeline", async () => {
    const page = await bob.v1.timelines.home.list({ limit: 40 });
    return page.find((candidate) => candidate.uri === status.uri);
  });
  return {
    media: attachment(media),
    status: { id: status.id, uri: status.uri, mediaAttachments: status.mediaAttachments.map(attachment) },
    arrived: { id: arrived.id, mediaAttachments: arrived.mediaAttachments.map(attachment) },
  };
}

run(main);
