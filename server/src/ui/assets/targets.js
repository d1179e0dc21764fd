// The targets page: active targets grouped by scrape pool, with health, labels, the last
// scrape and its error, and a filter that keeps only unhealthy targets. Jobs whose discovery
// mechanism Tidemark does not run are listed with a "not implemented" note.
"use strict";

(function () {
  var el = TM.el;
  var unhealthyOnly = new URLSearchParams(location.search).get("unhealthy") === "1";

  function health(h) {
    var s = String(h || "unknown").toLowerCase();
    if (s !== "up" && s !== "down") s = "unknown";
    return el("span", { class: "badge " + s }, s.toUpperCase());
  }

  function render(targets, notImplemented) {
    var now = Date.now();
    var pools = {};
    targets.forEach(function (t) { (pools[t.scrapePool] = pools[t.scrapePool] || []).push(t); });
    var filter = el("input", { type: "checkbox", id: "unhealthy-only", checked: unhealthyOnly });
    filter.onchange = function () {
      unhealthyOnly = filter.checked;
      history.replaceState(null, "", unhealthyOnly ? "?unhealthy=1" : "?");
      render(targets, notImplemented);
    };
    var parts = [el("div", { class: "controls" }, el("label", null, filter, " Show unhealthy only"))];
    var missing = {};
    (notImplemented || []).forEach(function (n) {
      missing[n.scrapePool] = n.mechanisms;
      pools[n.scrapePool] = pools[n.scrapePool] || [];
    });
    var names = Object.keys(pools).sort();
    if (!names.length) parts.push(el("p", { class: "muted" }, "No active targets."));
    var shown = 0;
    names.forEach(function (job) {
      var all = pools[job];
      var up = all.filter(function (t) { return t.health === "up"; }).length;
      var list = unhealthyOnly ? all.filter(function (t) { return t.health !== "up"; }) : all;
      if (!list.length && !missing[job]) return;
      shown++;
      var tbody = el("tbody");
      list.forEach(function (t) {
        tbody.appendChild(el("tr", { class: "target", "data-health": t.health },
          el("td", null, el("a", { href: t.scrapeUrl, rel: "noreferrer" }, t.scrapeUrl)),
          el("td", null, health(t.health)),
          el("td", null, TM.labelBadges(t.labels)),
          el("td", { title: t.lastScrape }, TM.ago(t.lastScrape, now)),
          el("td", { class: "num" }, TM.formatSeconds(t.lastScrapeDuration)),
          el("td", { class: "last-error" }, t.lastError ? el("span", { class: "error-text" }, t.lastError) : "")));
      });
      parts.push(el("section", { class: "pool", id: "pool-" + job },
        el("h2", null, job + " ", el("span", { class: "count" }, "(" + up + "/" + all.length + " up)")),
        missing[job] ? el("p", { class: "badge dropped not-implemented" }, missing[job].join(", ") +
          ": service discovery not implemented in Tidemark; no targets are discovered through it") : null,
        el("table", { class: "data" },
          el("thead", null, el("tr", null, ["Endpoint", "State", "Labels", "Last Scrape", "Scrape Duration", "Error"]
            .map(function (h) { return el("th", null, h); }))),
          tbody)));
    });
    if (names.length && !shown) parts.push(el("p", { class: "muted" }, "Every target is up."));
    TM.show(parts);
  }

  TM.api("targets", { state: "active" }).then(function (r) {
    render(r.data.activeTargets || [], r.data.notImplementedDiscovery);
  }, function (e) {
    TM.show(TM.errorBox("Error loading targets: " + e.message));
  });
})();
