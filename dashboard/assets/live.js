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
