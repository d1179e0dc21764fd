// The graph page: an expression box with metric-name completion, a Table tab (instant query)
// and a Graph tab (range query drawn by TMChart). The view lives in the URL query string in
// Prometheus's form (g0.expr, g0.tab with 0 = Graph and 1 = Table, g0.range_input,
// g0.end_input, g0.moment_input, g0.step_input, g0.stacked), so a link reproduces it.
"use strict";

(function () {
  var el = TM.el;
  var TAB_GRAPH = "0", TAB_TABLE = "1";
  var MAX_TABLE_ROWS = 10000;

  function readState() {
    var q = new URLSearchParams(location.search);
    return {
      expr: q.get("g0.expr") || "",
      tab: q.get("g0.tab") === TAB_GRAPH ? TAB_GRAPH : TAB_TABLE,
      range: q.get("g0.range_input") || "1h",
      end: q.get("g0.end_input") || "",
      moment: q.get("g0.moment_input") || "",
      step: q.get("g0.step_input") || "",
      stacked: q.get("g0.stacked") === "1",
    };
  }

  var state = readState();

  function writeState() {
    var q = new URLSearchParams();
    q.set("g0.expr", state.expr);
    q.set("g0.tab", state.tab);
    q.set("g0.range_input", state.range);
    if (state.end) q.set("g0.end_input", state.end);
    if (state.moment) q.set("g0.moment_input", state.moment);
    if (state.step) q.set("g0.step_input", state.step);
    q.set("g0.stacked", state.stacked ? "1" : "0");
    history.replaceState(null, "", "?" + q.toString());
  }

  // --- Layout -------------------------------------------------------------------------------

  var exprInput = el("input", {
    id: "expr", type: "text", list: "metric-names", placeholder: "Expression (press Enter to execute)",
    autocomplete: "off", spellcheck: "false", class: "expr",
  });
  exprInput.value = state.expr;
  var names = el("datalist", { id: "metric-names" });
  var execBtn = el("button", { class: "primary", id: "execute" }, "Execute");
  var tableTab = el("button", { id: "tab-table" }, "Table");
  var graphTab = el("button", { id: "tab-graph" }, "Graph");
  var panel = el("div", { class: "panel", id: "panel" });

  var momentInput = el("input", { type: "text", class: "wide", id: "moment", placeholder: "now (UTC: YYYY-MM-DD HH:MM:SS)" });
  momentInput.value = state.moment;
  var rangeInput = el("input", { type: "text", id: "range", title: "Range, e.g. 1h, 30m, 2d" });
  rangeInput.value = state.range;
  var endInput = el("input", { type: "text", class: "wide", id: "end", placeholder: "end: now (UTC)" });
  endInput.value = state.end;
  var stepInput = el("input", { type: "text", id: "step", placeholder: "step: auto" });
  stepInput.value = state.step;
  var stackBtn = el("button", { id: "stacked" });

  var tableControls = el("div", { class: "controls" }, "Evaluation time:", momentInput,
    el("button", { onclick: function () { momentInput.value = ""; execute(); } }, "Now"));
  var graphControls = el("div", { class: "controls" }, "Range:",
    el("button", { title: "Shrink range", onclick: function () { zoom(0.5); } }, "−"), rangeInput,
    el("button", { title: "Grow range", onclick: function () { zoom(2); } }, "+"),
    endInput, el("button", { onclick: function () { endInput.value = ""; execute(); } }, "Now"),
    stepInput, stackBtn);
  var stats = el("div", { class: "stats", id: "stats" });
  var output = el("div", { id: "output" });

  TM.show(
    el("div", { class: "exprbar" }, exprInput, execBtn),
    names,
    el("div", { class: "tabs" }, tableTab, graphTab),
    panel
  );

  function layout() {
    tableTab.className = state.tab === TAB_TABLE ? "active" : "";
    graphTab.className = state.tab === TAB_GRAPH ? "active" : "";
    stackBtn.textContent = state.stacked ? "Stacked" : "Unstacked";
    stackBtn.className = state.stacked ? "active" : "";
    panel.textContent = "";
    panel.appendChild(state.tab === TAB_TABLE ? tableControls : graphControls);
    panel.appendChild(stats);
    panel.appendChild(output);
  }

  // --- Actions ------------------------------------------------------------------------------

  function zoom(factor) {
    var r = TM.parseDuration(rangeInput.value);
    if (!isFinite(r)) r = 3600;
    rangeInput.value = TM.formatDuration(Math.max(1, Math.round(r * factor)));
    execute();
  }

  function readInputs() {
    state.expr = exprInput.value.trim();
    state.moment = momentInput.value.trim();
    state.range = rangeInput.value.trim() || "1h";
    state.end = endInput.value.trim();
    state.step = stepInput.value.trim();
  }

  var generation = 0; // answers to superseded queries are dropped

  function execute() {
    readInputs();
    writeState();
    layout();
    output.textContent = "";
    stats.textContent = "";
    if (!state.expr) {
      output.appendChild(el("p", { class: "muted" }, "Enter an expression and press Execute."));
      return;
    }
    var gen = ++generation;
    var started = performance.now();
    var run = state.tab === TAB_TABLE ? runTable : runGraph;
    var req = run();
    if (!req) return;
    output.appendChild(el("p", { class: "muted" }, "Loading…"));
    req.then(function (r) {
      if (gen !== generation) return;
      output.textContent = "";
      (r.warnings || []).forEach(function (w) { output.appendChild(el("div", { class: "warning" }, "Warning: " + w)); });
      r.draw();
      stats.textContent = "Load time: " + Math.round(performance.now() - started) + "ms" +
        (r.info ? " · " + r.info : "");
    }, function (e) {
      if (gen !== generation) return;
      output.textContent = "";
      output.appendChild(TM.errorBox("Error executing query: " + e.message));
    });
  }

  function fail(msg) {
    output.textContent = "";
    output.appendChild(TM.errorBox(msg));
    return null;
  }

  function runTable() {
    var params = { query: state.expr };
    if (state.moment) {
      var t = TM.parseTime(state.moment);
      if (!isFinite(t)) return fail("Invalid evaluation time " + JSON.stringify(state.moment) + ": use YYYY-MM-DD HH:MM:SS (UTC) or Unix seconds.");
      params.time = t;
    }
    return TM.api("query", params).then(function (r) {
      var d = r.data;
      return {
        warnings: r.warnings,
        info: "Result type: " + d.resultType + (Array.isArray(d.result) ? " · Result series: " + d.result.length : ""),
        draw: function () { output.appendChild(renderTable(d)); },
      };
    });
  }

  function renderTable(d) {
    var tbody = el("tbody");
    var table = el("table", { class: "data", id: "result-table" },
      el("thead", null, el("tr", null, el("th", null, "Series"), el("th", null, "Value"))), tbody);
    function row(name, value) {
      tbody.appendChild(el("tr", null, el("td", { class: "series" }, name), el("td", { class: "num" }, value)));
    }
    if (d.resultType === "scalar" || d.resultType === "string") {
      row(d.resultType, d.result[1]);
      return table;
    }
    if (!d.result.length) return el("p", { class: "muted", id: "empty-result" }, "Empty query result");
    d.result.slice(0, MAX_TABLE_ROWS).forEach(function (s) {
      if (d.resultType === "matrix") {
        var vals = (s.values || []).map(function (p) { return p[1] + " @" + p[0]; });
        var cell = el("div");
        vals.forEach(function (v) { cell.appendChild(el("div", null, v)); });
        row(TM.seriesName(s.metric), cell);
      } else {
        row(TM.seriesName(s.metric), s.value[1]);
      }
    });
    if (d.result.length > MAX_TABLE_ROWS) {
      return el("div", null, el("div", { class: "notice" }, "Showing the first " + MAX_TABLE_ROWS + " of " + d.result.length + " series."), table);
    }
    return table;
  }

  function runGraph() {
    var range = TM.parseDuration(state.range);
    if (!isFinite(range)) return fail("Invalid range " + JSON.stringify(state.range) + ": use a duration such as 1h, 30m or 2d.");
    var end = state.end ? TM.parseTime(state.end) : Date.now() / 1000;
    if (!isFinite(end)) return fail("Invalid end time " + JSON.stringify(state.end) + ": use YYYY-MM-DD HH:MM:SS (UTC) or Unix seconds.");
    var step = state.step ? TM.parseDuration(state.step) : Math.max(1, Math.floor(range / 250));
    if (!isFinite(step)) return fail("Invalid step " + JSON.stringify(state.step) + ": use a duration such as 15s.");
    end = Math.round(end * 1000) / 1000;
    var start = end - range;
    return TM.api("query_range", { query: state.expr, start: start, end: end, step: step }).then(function (r) {
      var d = r.data;
      return {
        warnings: r.warnings,
        info: "Resolution: " + TM.formatDuration(step) + " · Result series: " + (d.result || []).length,
        draw: function () {
          if (d.resultType !== "matrix") {
            output.appendChild(TM.errorBox("The graph needs a range of series; the expression returned a " + d.resultType + "."));
            return;
          }
          if (!d.result.length) { output.appendChild(el("p", { class: "muted", id: "empty-result" }, "Empty query result")); return; }
          var box = el("div", { id: "graph" });
          output.appendChild(box);
          TMChart.render(box, d.result, { start: start, end: end, step: step, stacked: state.stacked });
        },
      };
    });
  }

  // --- Wiring -------------------------------------------------------------------------------

  execBtn.onclick = execute;
  exprInput.onkeydown = function (ev) {
    if (ev.key === "Enter") { ev.preventDefault(); execute(); }
  };
  [momentInput, rangeInput, endInput, stepInput].forEach(function (i) {
    i.onkeydown = function (ev) { if (ev.key === "Enter") { ev.preventDefault(); execute(); } };
  });
  tableTab.onclick = function () { state.tab = TAB_TABLE; execute(); };
  graphTab.onclick = function () { state.tab = TAB_GRAPH; execute(); };
  stackBtn.onclick = function () { state.stacked = !state.stacked; execute(); };

  TM.api("label/__name__/values").then(function (r) {
    (r.data || []).forEach(function (n) { names.appendChild(el("option", { value: n })); });
  }, function () { /* completion is a convenience; the query itself reports errors */ });

  layout();
  if (state.expr) execute();
  else output.appendChild(el("p", { class: "muted" }, "Enter an expression and press Execute."));
  exprInput.focus();
})();
