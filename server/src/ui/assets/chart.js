// A small SVG line chart for range-query results: axes with "nice" ticks, one path per
// series, a legend, a hover line with the values at the cursor, and stacking.
"use strict";

var TMChart = (function () {
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#3949ab", "#00897b", "#f4511e", "#6d4c41", "#c0ca33"];
  var MARGIN = { left: 72, right: 16, top: 10, bottom: 28 };

  function svg(tag, attrs) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  function color(i) { return COLORS[i % COLORS.length]; }

  /** A round step near `span / count`: 1, 2 or 5 times a power of ten. */
  function niceStep(span, count) {
    var raw = span / count, mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  }

  var SI = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];

  /** Tick labels: SI suffixes for large numbers, plain decimals otherwise. */
  function formatTick(v, step) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    for (var i = 0; i < SI.length; i++) {
      if (a >= SI[i][0]) return trim((v / SI[i][0]).toFixed(decimals(step / SI[i][0]))) + SI[i][1];
    }
    if (a < 1e-3) return v.toExponential(1);
    return trim(v.toFixed(decimals(step)));
  }
  function decimals(step) { return Math.max(0, Math.min(6, -Math.floor(Math.log10(step)) + 1)); }
  function trim(s) { return s.indexOf(".") >= 0 ? s.replace(/\.?0+$/, "") : s; }

  /** A value as Prometheus prints it in tooltips: full precision, at most 6 significant digits. */
  function formatValue(v) {
    if (!isFinite(v)) return String(v);
    if (v !== 0 && (Math.abs(v) >= 1e9 || Math.abs(v) < 1e-4)) return v.toExponential(4);
    return String(parseFloat(v.toPrecision(6)));
  }

  var TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    21600, 43200, 86400, 172800, 604800, 2592000];

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function formatTimeTick(t, step) {
    var d = new Date(t * 1000);
    var hm = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    if (step < 60) return hm + ":" + pad(d.getUTCSeconds());
    if (step < 86400) return hm;
    return pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
  }

  /**
   * Prepares series for drawing: values keyed by step index, stacked when asked. Each point
   * is [t, y, raw] where y is what is drawn (the cumulative sum when stacked).
   */
  function prepare(series, opts) {
    var base = {};
    return series.map(function (s, i) {
      if (opts.only !== undefined && opts.only !== null && opts.only !== i) return null;
      var pts = [];
      (s.values || []).forEach(function (p) {
        var t = Number(p[0]), v = parseFloat(p[1]);
        if (!isFinite(v)) { pts.push([t, NaN, v]); return; }
        var y = v;
        if (opts.stacked) {
          var k = Math.round((t - opts.start) / opts.step);
          y = (base[k] || 0) + v;
          base[k] = y;
        }
        pts.push([t, y, v]);
      });
      return { name: TM.seriesName(s.metric), color: color(i), points: pts, index: i };
    }).filter(function (s) { return s; });
  }

  /** Splits points into runs without gaps (a NaN, or more than 1.5 steps between points). */
  function runs(points, step) {
    var out = [], cur = [];
    points.forEach(function (p) {
      if (!isFinite(p[1])) { if (cur.length) out.push(cur); cur = []; return; }
      if (cur.length && p[0] - cur[cur.length - 1][0] > step * 1.5) { out.push(cur); cur = []; }
      cur.push(p);
    });
    if (cur.length) out.push(cur);
    return out;
  }

  /**
   * Renders `series` (the `result` of a matrix query) into `container`.
   * opts: {start, end, step} in seconds, {stacked} boolean.
   */
  function render(container, series, opts) {
    container.textContent = "";
    var data = prepare(series, opts);
    var width = Math.max(400, container.clientWidth || 1000), height = 380;
    var w = width - MARGIN.left - MARGIN.right, h = height - MARGIN.top - MARGIN.bottom;

    var lo = Infinity, hi = -Infinity;
    data.forEach(function (s) {
      s.points.forEach(function (p) { if (isFinite(p[1])) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]); } });
    });
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (opts.stacked) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    // A little headroom so lines at the extremes do not sit on the frame; stacked charts
    // keep zero as their floor.
    var pad = (hi - lo) * 0.03;
    if (!(opts.stacked && lo === 0)) lo -= pad;
    hi += pad;
    var ystep = niceStep(hi - lo, 5);
    lo = Math.floor(lo / ystep) * ystep;
    hi = Math.ceil(hi / ystep) * ystep;

    var x = function (t) { return MARGIN.left + (t - opts.start) / (opts.end - opts.start) * w; };
    var y = function (v) { return MARGIN.top + (hi - v) / (hi - lo) * h; };

    var root = svg("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height, role: "img" });
    var grid = svg("g", { class: "grid" }), axis = svg("g", { class: "axis" });
    root.appendChild(grid);
    root.appendChild(axis);

    for (var v = lo; v <= hi + ystep / 2; v += ystep) {
      var yy = y(v);
      grid.appendChild(svg("line", { x1: MARGIN.left, x2: MARGIN.left + w, y1: yy, y2: yy }));
      var label = svg("text", { x: MARGIN.left - 6, y: yy + 4, "text-anchor": "end" });
      label.textContent = formatTick(Math.abs(v) < ystep / 1e6 ? 0 : v, ystep);
      axis.appendChild(label);
    }
    var span = opts.end - opts.start;
    var tstep = TIME_STEPS.filter(function (s) { return span / s <= 8; })[0] || TIME_STEPS[TIME_STEPS.length - 1];
    for (var t = Math.ceil(opts.start / tstep) * tstep; t <= opts.end; t += tstep) {
      var xx = x(t);
      grid.appendChild(svg("line", { x1: xx, x2: xx, y1: MARGIN.top, y2: MARGIN.top + h }));
      var tl = svg("text", { x: xx, y: MARGIN.top + h + 18, "text-anchor": "middle" });
      tl.textContent = formatTimeTick(t, tstep);
      axis.appendChild(tl);
    }
    axis.appendChild(svg("path", {
      d: "M" + MARGIN.left + " " + MARGIN.top + "V" + (MARGIN.top + h) + "H" + (MARGIN.left + w),
      fill: "none",
    }));

    // One path per series; a gap wider than 1.5 steps (or a NaN) lifts the pen. Stacked
    // series also fill the band between their line and the series below.
    var lines = svg("g", { class: "series-lines" });
    data.forEach(function (s) {
      var d = "";
      runs(s.points, opts.step).forEach(function (run) {
        run.forEach(function (p, j) {
          d += (j ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1);
        });
        if (run.length === 1) d += "h0.01"; // a lone point still shows as a dot
        if (opts.stacked) {
          var area = run.map(function (p, j) { return (j ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1); }).join("");
          for (var j = run.length - 1; j >= 0; j--) area += "L" + x(run[j][0]).toFixed(1) + " " + y(run[j][1] - run[j][2]).toFixed(1);
          lines.appendChild(svg("path", { d: area + "Z", fill: s.color, "fill-opacity": 0.25, stroke: "none", class: "series-area" }));
        }
      });
      lines.appendChild(svg("path", {
        d: d || "M0 0", fill: "none", stroke: s.color, "stroke-width": 1.6,
        "stroke-linecap": "round", "stroke-linejoin": "round", class: "series-line",
        "data-series": s.index,
      }));
    });
    root.appendChild(lines);

    var hover = svg("line", { class: "hoverline", y1: MARGIN.top, y2: MARGIN.top + h, visibility: "hidden" });
    root.appendChild(hover);
    var overlay = svg("rect", { x: MARGIN.left, y: MARGIN.top, width: w, height: h, fill: "transparent" });
    root.appendChild(overlay);

    var wrap = TM.el("div", { class: "chart" });
    var tip = TM.el("div", { class: "tooltip", hidden: true });
    wrap.appendChild(root);
    wrap.appendChild(tip);
    container.appendChild(wrap);

    overlay.addEventListener("mousemove", function (ev) {
      var box = root.getBoundingClientRect();
      var px = (ev.clientX - box.left) * (width / box.width);
      var t = opts.start + (px - MARGIN.left) / w * (opts.end - opts.start);
      var k = Math.round((t - opts.start) / opts.step), at = opts.start + k * opts.step;
      var rows = [];
      data.forEach(function (s) {
        var best = null;
        s.points.forEach(function (p) { if (Math.abs(p[0] - at) < opts.step / 2) best = p; });
        if (best) rows.push([s, best]);
      });
      hover.setAttribute("x1", x(at));
      hover.setAttribute("x2", x(at));
      hover.setAttribute("visibility", "visible");
      rows.sort(function (a, b) { return b[1][1] - a[1][1]; });
      tip.textContent = "";
      tip.appendChild(TM.el("div", null, TM.el("b", null, TM.formatTime(at) + " UTC")));
      rows.slice(0, 20).forEach(function (r) {
        tip.appendChild(TM.el("div", null, TM.el("span", { class: "swatch", style: "background:" + r[0].color }),
          r[0].name + ": ", TM.el("b", null, formatValue(r[1][2]))));
      });
      if (rows.length > 20) tip.appendChild(TM.el("div", null, "… and " + (rows.length - 20) + " more"));
      if (!rows.length) tip.appendChild(TM.el("div", null, "no value"));
      tip.hidden = false;
      var left = (ev.clientX - box.left) + 14;
      if (left + 300 > box.width) left = Math.max(0, left - 330);
      tip.style.left = left + "px";
      tip.style.top = (ev.clientY - box.top + 10) + "px";
    });
    overlay.addEventListener("mouseleave", function () {
      tip.hidden = true;
      hover.setAttribute("visibility", "hidden");
    });

    // Every series is listed; clicking one shows only it, clicking it again shows all.
    var legend = TM.el("ul", { class: "legend" });
    series.forEach(function (s, i) {
      var off = opts.only !== undefined && opts.only !== null && opts.only !== i;
      legend.appendChild(TM.el("li", {
        class: "legend-entry" + (off ? " off" : ""), title: "Click to show only this series (again: all)",
        onclick: function () {
          render(container, series, Object.assign({}, opts, { only: opts.only === i ? null : i }));
        },
      }, TM.el("span", { class: "swatch", style: "background:" + color(i) }), TM.seriesName(s.metric)));
    });
    container.appendChild(legend);
    return root;
  }

  return { render: render, formatValue: formatValue, niceStep: niceStep };
})();
