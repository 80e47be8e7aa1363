// The compose box's character counter. Without JavaScript the form works the same; the
// textarea's maxlength still holds the limit.
"use strict";
(function () {
  for (const form of document.querySelectorAll("form.compose")) {
    const text = form.querySelector("textarea[data-max]");
    const counter = form.querySelector(".counter");
    const submit = form.querySelector("button[type=submit]");
    if (!text || !counter) continue;
    const max = Number(text.dataset.max);
    const update = () => {
      const left = max - Array.from(text.value).length;
      counter.textContent = left === 1 ? "1 character left" : `${left} characters left`;
      counter.classList.toggle("over", left < 0);
      if (submit) submit.disabled = left < 0;
    };
    text.addEventListener("input", update);
    // a reply starts with the author's handle: write after it, not before
    text.addEventListener("focus", () => {
      if (text.selectionStart === 0 && text.selectionEnd === 0 && text.value) {
        text.setSelectionRange(text.value.length, text.value.length);
      }
    }, { once: true });
    update();
  }
})();
