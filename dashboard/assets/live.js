// Marks the page stale when its refresh stamp stops changing (database down, server gone).
// The stamp is a hidden element with data-updated that every successful refresh replaces;
// the client times it with its own clock, so browser/server clock skew does not matter.
(function () {
  "use strict";
  var seen = { value: null, at: Date.now() };

  function fmt(ms) {
    var s = Math.round(ms / 1000);
    if (s < 90) { return s + " s"; }
    if (s < 5400) { return Math.round(s / 60) + " min"; }
    return Math.round(s / 3600) + " h";
  }

  function check() {
    var status = document.getElementById("live-status");
    if (!status) { return; }
    var staleMs = Number(status.getAttribute("data-stale-ms")) || 120000;
    var stampEl = document.querySelector("[data-updated]");
    var value = stampEl ? stampEl.getAttribute("data-updated") : null;
    if (value !== seen.value) { seen = { value: value, at: Date.now() }; }
    if (value === null) {
      status.textContent = "loading…";
      status.className = "live-status";
      return;
    }
    var age = Date.now() - seen.at;
    var stale = age > staleMs;
    document.body.classList.toggle("is-stale", stale);
    status.className = "live-status " + (stale ? "stale" : "live");
    status.textContent = stale ? "STALE · no update for " + fmt(age)
                               : "LIVE · updated " + fmt(age) + " ago";
  }

  window.setInterval(check, 1000);
})();
