// The service-discovery page: per job, each discovered target's labels before relabelling
// beside the target labels after it, or "dropped" when relabelling dropped it. Jobs whose
// discovery mechanism Tidemark does not run are listed with a "not implemented" badge.
"use strict";

(function () {
  var el = TM.el;

  function render(data) {
    var jobs = {};
    function add(job, row) { (jobs[job] = jobs[job] || []).push(row); }
    (data.activeTargets || []).forEach(function (t) {
      add(t.scrapePool, { discovered: t.discoveredLabels, labels: t.labels });
    });
    // Prometheus 3.5 names a dropped target's pool; older servers did not (then the
    // discovered `job` label is the best guess).
    (data.droppedTargets || []).forEach(function (t) {
      add(t.scrapePool || (t.discoveredLabels || {}).job || "(unknown job)", { discovered: t.discoveredLabels, labels: null });
    });
    var missing = {};
    (data.notImplementedDiscovery || []).forEach(function (n) {
      missing[n.scrapePool] = n.mechanisms;
      jobs[n.scrapePool] = jobs[n.scrapePool] || [];
    });
    var names = Object.keys(jobs).sort();
    if (!names.length) return TM.show(el("p", { class: "muted" }, "No targets discovered."));
    var index = el("ul", null, names.map(function (job) {
      var rows = jobs[job];
      var active = rows.filter(function (r) { return r.labels; }).length;
      return el("li", null, el("a", { href: "#sd-" + job }, job), " (" + active + " / " + rows.length + " active targets)",
        missing[job] ? el("span", { class: "badge dropped" }, "not implemented: " + missing[job].join(", ")) : null);
    }));
    TM.show(index, names.map(function (job) {
      return el("section", { class: "pool", id: "sd-" + job },
        el("h2", null, job),
        missing[job] ? el("p", { class: "badge dropped" }, missing[job].join(", ") +
          ": service discovery not implemented in Tidemark; no targets are discovered through it") : null,
        el("table", { class: "data" },
          el("thead", null, el("tr", null, el("th", null, "Discovered Labels"), el("th", null, "Target Labels"))),
          el("tbody", null, jobs[job].map(function (r) {
            return el("tr", null,
              el("td", null, TM.labelBadges(r.discovered)),
              el("td", null, r.labels ? TM.labelBadges(r.labels) : el("span", { class: "badge dropped" }, "Dropped")));
          }))));
    }));
  }

  TM.api("targets").then(function (r) { render(r.data); }, function (e) {
    TM.show(TM.errorBox("Error loading targets: " + e.message));
  });
})();
