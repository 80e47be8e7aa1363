// New posts without a reload: the instance's event stream (the session cookie signs it in)
// announces each status; the server renders it (/web/statuses/{id}/card) with the same
// template as the page, and it goes on top of the timeline.
"use strict";
(function () {
  const status = document.getElementById("live-status");
  const list = document.getElementById("timeline");
  if (!status || !list || !window.EventSource) return;
  const source = new EventSource(`/api/v1/streaming/${status.dataset.stream.replace(":", "/")}`);
  const say = (text) => { status.textContent = text; };

  async function show(id) {
    if (document.getElementById(`status-${id}`)) return;
    const response = await fetch(`/web/statuses/${encodeURIComponent(id)}/card`, {
      credentials: "same-origin",
    });
    if (!response.ok || document.getElementById(`status-${id}`)) return;
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    const item = template.content.firstElementChild;
    if (!item) return;
    list.prepend(item);
    const empty = document.getElementById("empty-timeline");
    if (empty) empty.remove();
  }

  source.addEventListener("open", () => say("Live: new posts appear at the top."));
  source.addEventListener("error", () => say("Reconnecting…"));
  source.addEventListener("update", (event) => {
    try {
      const entity = JSON.parse(event.data);
      if (entity && entity.id) show(entity.id);
    } catch (error) {
      // a malformed event is skipped; the next one may be fine
    }
  });
  source.addEventListener("delete", (event) => {
    const item = document.getElementById(`status-${event.data}`);
    if (item) item.remove();
  });
})();
