// The service-discovery page: per job, each discovered target's labels before relabelling
// beside the target labels after it, or "dropped" when relabelling dropped it.
"use strict";

(function () {
  var el = TM.el;

  function render(data) {
    var jobs = {};
    function add(job, row) { (jobs[job] = jobs[job] || []).push(row); }
    (data.activeTargets || []).forEach(function (t) {
      add(t.scrapePool, { discovered: t.discoveredLabels, labels: t.labels });
    });
    // A dropped target has no pool in the API; its job is the discovered `job` label.
    (data.droppedTargets || []).forEach(function (t) {
      add((t.discoveredLabels || {}).job || "(unknown job)", { discovered: t.discoveredLabels, labels: null });
    });
    var names = Object.keys(jobs).sort();
    if (!names.length) return TM.show(el("p", { class: "muted" }, "No targets discovered."));
    var index = el("ul", null, names.map(function (job) {
      var rows = jobs[job];
      var active = rows.filter(function (r) { return r.labels; }).length;
      return el("li", null, el("a", { href: "#sd-" + job }, job), " (" + active + " / " + rows.length + " active targets)");
    }));
    TM.show(index, names.map(function (job) {
      return el("section", { class: "pool", id: "sd-" + job },
        el("h2", null, job),
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
