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

  // The view's query (dashboard/view.py) sets the page's look: ?kiosk=1 (wall screen: no
  // navigation, large type, the next page every ?rotate= seconds) and ?theme=hp (ISA-101).
  var KIOSK_PAGES = ["", "schedule", "alerts"];
  var shownSince = Date.now();
  var lastPath = null;

  function params() { return new URLSearchParams(window.location.search); }

  function basePath() {
    var config = document.getElementById("_dash-config");
    if (!config) { return "/"; }
    var c = JSON.parse(config.textContent);
    return c.requests_pathname_prefix || c.url_base_pathname || "/";
  }

  function look() {
    var p = params();
    var kiosk = p.get("kiosk") === "1";
    document.body.classList.toggle("kiosk", kiosk);
    document.body.classList.toggle("theme-hp", p.get("theme") === "hp");
    if (window.location.pathname !== lastPath) { lastPath = window.location.pathname; shownSince = Date.now(); }
    if (!kiosk) { return; }
    var every = Math.max(5, Number(p.get("rotate")) || 30) * 1000;
    if (Date.now() - shownSince < every) { return; }
    var base = basePath();
    var here = window.location.pathname.slice(base.length).replace(/\/+$/, "");
    var next = KIOSK_PAGES[(Math.max(0, KIOSK_PAGES.indexOf(here)) + 1) % KIOSK_PAGES.length];
    // Dash's own navigation: push the URL and tell dcc.Location, no reload.
    window.history.pushState({}, "", base + next + window.location.search);
    window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
    shownSince = Date.now();
  }

  window.setInterval(look, 250);
  look();

  // A machine page opened directly arrives with its charts' data in the routed layout; fetch
  // and compile plotly.js meanwhile, instead of after it (dcc.Graph uses window.Plotly when
  // it is there, else loads the same URL itself).
  var dashConfig = document.getElementById("_dash-config");
  if (!window.Plotly && dashConfig && /\/machine\/[^/]+\/?$/.test(window.location.pathname)) {
    var prefix = JSON.parse(dashConfig.textContent).requests_pathname_prefix || "/";
    var script = document.createElement("script");
    script.src = prefix + "_dash-component-suites/plotly/package_data/plotly.min.js";
    script.async = true;
    document.head.appendChild(script);
  }

  // Charts are drawn at their panel's width (figures autosize; dcc.Graph is not responsive, so
  // a chart is not drawn a second time on arrival): fit them again when the window changes.
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizeTimer);
    resizeTimer = window.setTimeout(function () {
      if (!window.Plotly) { return; }
      document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
        if (gd.offsetParent !== null) { window.Plotly.Plots.resize(gd).catch(function () {}); }
      });
    }, 150);
  });
})();

// The alarm journal's buttons (Acknowledge, Shelve, Unshelve) report a click through one
// store, alerts-click, that no refresh replaces. Their own n_clicks would be lost when a
// refresh re-renders the table in the same instant, and with it the user's confirmation.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-alarm-action]") : null;
    if (!button || button.disabled || !window.dash_clientside || !window.dash_clientside.set_props) {
      return;
    }
    window.dash_clientside.set_props("alerts-click", {
      data: {
        alert: Number(button.getAttribute("data-alert")),
        action: button.getAttribute("data-alarm-action"),
        at: Date.now(),
      },
    });
  }, true);
})();
