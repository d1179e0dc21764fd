// The status pages: configuration (YAML), command-line flags, and TSDB status (head
// statistics and cardinality tables). Which one is drawn follows <body data-page>.
"use strict";

(function () {
  var el = TM.el;
  var page = document.body.getAttribute("data-page");

  function table(id, headers, rows) {
    return el("table", { class: "data", id: id },
      el("thead", null, el("tr", null, headers.map(function (h) { return el("th", null, h); }))),
      el("tbody", null, rows.map(function (r) {
        return el("tr", null, r.map(function (c, i) { return el("td", i > 0 && typeof c === "number" ? { class: "num" } : null, c); }));
      })));
  }

  function config() {
    return TM.api("status/config").then(function (r) {
      var copy = el("button", { onclick: function () {
        if (navigator.clipboard) navigator.clipboard.writeText(r.data.yaml).catch(function () {});
      } }, "Copy to clipboard");
      TM.show(el("div", { class: "controls" }, copy), el("pre", { class: "config", id: "config-yaml" }, r.data.yaml));
    });
  }

  function flags() {
    var filter = el("input", { type: "text", class: "wide", id: "flag-filter", placeholder: "Filter by flag name or value" });
    return TM.api("status/flags").then(function (r) {
      var all = Object.keys(r.data).sort().map(function (k) { return ["--" + k, r.data[k]]; });
      var holder = el("div");
      function draw() {
        var f = filter.value.toLowerCase();
        holder.textContent = "";
        holder.appendChild(table("flags-table", ["Flag", "Value"], all.filter(function (row) {
          return !f || row[0].toLowerCase().indexOf(f) >= 0 || row[1].toLowerCase().indexOf(f) >= 0;
        })));
      }
      filter.oninput = draw;
      draw();
      TM.show(el("div", { class: "controls" }, filter), holder);
    });
  }

  function tsdb() {
    return TM.api("status/tsdb").then(function (r) {
      var d = r.data || {}, h = d.headStats || {};
      var time = function (ms) {
        return typeof ms === "number" && isFinite(ms) && Math.abs(ms) < 8.64e15 ? TM.formatTime(ms / 1000) + " UTC (" + ms + ")" : String(ms);
      };
      var parts = [
        el("h2", null, "Head Stats"),
        table("head-stats", ["Number of Series", "Number of Chunks", "Number of Label Pairs", "Current Min Time", "Current Max Time"],
          [[h.numSeries, h.chunkCount, h.numLabelPairs, time(h.minTime), time(h.maxTime)]]),
      ];
      [["seriesCountByMetricName", "Top 10 series count by metric names", "Name", "Count"],
        ["labelValueCountByLabelName", "Top 10 label names with value count", "Name", "Count"],
        ["memoryInBytesByLabelName", "Top 10 label names with high memory usage", "Name", "Bytes"],
        ["seriesCountByLabelValuePair", "Top 10 series count by label value pairs", "Name", "Count"]]
        .forEach(function (spec) {
          var rows = (d[spec[0]] || []).map(function (e) { return [e.name, e.value]; });
          parts.push(el("h2", null, spec[1]));
          parts.push(rows.length ? table(spec[0], [spec[2], spec[3]], rows) : el("p", { class: "muted" }, "None."));
        });
      TM.show(parts);
    }, function (e) {
      if (e.status === 404) {
        TM.show(el("div", { class: "notice", id: "tsdb-unavailable" },
          "TSDB status is not available: this server does not provide api/v1/status/tsdb (HTTP 404)."));
        return;
      }
      throw e;
    });
  }

  var load = { config: config, flags: flags, "tsdb-status": tsdb }[page];
  if (!load) { TM.show(TM.errorBox("Unknown status page " + JSON.stringify(page))); return; }
  load().catch(function (e) { TM.show(TM.errorBox("Error loading " + page + ": " + e.message)); });
})();
