"""The dashboard's one script, served at ``/dashboard/dashboard.js`` (no build step, no CDN).

It does two things, both against the monitor's own JSON endpoints:

- every ``POLL_MS`` it reads ``/dashboard/api/state``; when the state's ``version`` differs from
  the page's, it fetches ``/dashboard/panels`` (HTML the server rendered and escaped) and swaps
  it in, so a new warning appears without a reload;
- a "verify again" button asks ``/dashboard/api/entries/{log}/{index}`` to prove that entry in
  the mirror's checkpoint once more, and writes the answer as text (``textContent``: a centre's
  words never become markup here).
"""

from __future__ import annotations

__all__ = ["POLL_MS", "SCRIPT"]

POLL_MS = 2000

SCRIPT = """
"use strict";
(function () {
  var POLL_MS = {poll_ms};
  function poll() {
    var panels = document.getElementById("panels");
    if (!panels) { return; }
    fetch("/dashboard/api/state", {cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (!state || state.version === document.body.dataset.version) { return null; }
        return fetch("/dashboard/panels", {cache: "no-store"}).then(function (r) {
          return r.ok ? r.text().then(function (html) {
            panels.innerHTML = html;
            document.body.dataset.version = state.version;
          }) : null;
        });
      })
      .then(function () { setLive("live"); },
            function () { setLive("offline: retrying"); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  function setLive(text) {
    var live = document.getElementById("live");
    if (live) { live.textContent = text; }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.verify") : null;
    if (!button) { return; }
    var out = button.parentNode.querySelector(".verify-live");
    out.textContent = "verifying…";
    fetch(button.dataset.url, {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (p) {
        out.className = "verify-live " + (p.verified ? "ok" : "bad");
        out.textContent = p.verified
          ? "verified again: entry " + p.index + " is in the checkpoint of size " + p.tree_size
          : "not verified: " + (p.problem || p.detail || "no answer");
      }, function () { out.textContent = "the monitor did not answer"; });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setTimeout(poll, POLL_MS); });
  } else {
    setTimeout(poll, POLL_MS);
  }
})();
""".replace("{poll_ms}", str(POLL_MS))
