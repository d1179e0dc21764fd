// Helpers shared by every page: DOM building, API calls, time and duration formatting.
// Every URL here is relative so the UI works under any --web.route-prefix.
"use strict";

var TM = (function () {
  /** Creates an element: el("td", {class: "num"}, "text", childNode, ...). */
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k === "onclick" || k === "onchange" || k === "oninput" || k === "onkeydown") e[k] = v;
        else e.setAttribute(k, v === true ? "" : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function append(parent, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(parent, c); }); return; }
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }

  /** An error carrying the HTTP status, so pages can tell "not there" (404) from failures. */
  function ApiError(message, status) {
    this.message = message;
    this.status = status;
  }
  ApiError.prototype.toString = function () { return this.message; };

  /** GETs api/v1/<path> with the given parameters; resolves to the response's `data`. */
  function api(path, params) {
    var qs = params ? "?" + new URLSearchParams(params).toString() : "";
    return fetch("api/v1/" + path + qs, { headers: { Accept: "application/json" } })
      .then(function (resp) {
        return resp.text().then(function (text) {
          var body = null;
          try { body = JSON.parse(text); } catch (e) { body = null; }
          if (!resp.ok || !body || body.status !== "success") {
            var msg = body && body.error
              ? (body.errorType ? body.errorType + ": " : "") + body.error
              : "HTTP " + resp.status + " from api/v1/" + path + (text ? ": " + text.trim().slice(0, 300) : "");
            throw new ApiError(msg, resp.status);
          }
          return { data: body.data, warnings: body.warnings || [] };
        });
      }, function (e) {
        throw new ApiError("request to api/v1/" + path + " failed: " + e, 0);
      });
  }

  /** Replaces the page's content with the given nodes. */
  function show() {
    var c = document.getElementById("content");
    c.textContent = "";
    for (var i = 0; i < arguments.length; i++) append(c, arguments[i]);
    return c;
  }

  function errorBox(msg) { return el("div", { class: "error" }, String(msg)); }

  /** `{__name__="up", job="x"}` → `up{job="x"}`, Prometheus's series notation. */
  function seriesName(metric) {
    metric = metric || {};
    var name = metric.__name__ || "";
    var parts = Object.keys(metric).filter(function (k) { return k !== "__name__"; }).sort()
      .map(function (k) { return k + "=" + JSON.stringify(metric[k]); });
    if (name && !parts.length) return name;
    return name + "{" + parts.join(", ") + "}";
  }

  function labelBadges(labels) {
    return Object.keys(labels || {}).sort().map(function (k) {
      return el("span", { class: "label" }, k + '="' + labels[k] + '"');
    });
  }

  var UNITS = [["y", 365 * 86400], ["w", 7 * 86400], ["d", 86400], ["h", 3600], ["m", 60], ["s", 1], ["ms", 0.001]];

  /** Parses a Prometheus duration (`1h30m`, `15s`, `2d`) into seconds; NaN when invalid. */
  function parseDuration(s) {
    s = String(s || "").trim();
    if (!s) return NaN;
    var re = /(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)/g, total = 0, used = 0, m;
    while ((m = re.exec(s)) !== null) {
      if (m.index !== used) return NaN;
      used = re.lastIndex;
      var unit = UNITS.filter(function (u) { return u[0] === m[2]; })[0];
      total += parseFloat(m[1]) * unit[1];
    }
    return used === s.length && total > 0 ? total : NaN;
  }

  /** Seconds → `1h30m`, `15s`, `250ms`. */
  function formatDuration(sec) {
    if (!isFinite(sec)) return "";
    if (sec === 0) return "0s";
    if (sec < 1) return Math.round(sec * 1000) + "ms";
    var out = "", rest = Math.round(sec);
    UNITS.slice(0, 6).forEach(function (u) {
      var n = Math.floor(rest / u[1]);
      if (n > 0) { out += n + u[0]; rest -= n * u[1]; }
    });
    return out;
  }

  /** A short human duration for scrape times: `12.345ms`, `1.234s`. */
  function formatSeconds(sec) {
    if (!isFinite(sec)) return "";
    if (sec < 1) return (sec * 1000).toFixed(3) + "ms";
    return sec.toFixed(3) + "s";
  }

  /** "3.2s ago", "5m ago"; "never" for Go's zero time. */
  function ago(iso, now) {
    var t = Date.parse(iso);
    if (!isFinite(t) || t <= 0 || /^0001-/.test(iso)) return "never";
    var d = Math.max(0, ((now || Date.now()) - t) / 1000);
    if (d < 60) return d.toFixed(1) + "s ago";
    return formatDuration(d) + " ago";
  }

  function pad(n, w) { n = String(n); while (n.length < (w || 2)) n = "0" + n; return n; }

  /** Unix seconds → `2026-12-05 09:30:00` (UTC). */
  function formatTime(sec) {
    var d = new Date(sec * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }

  /** `2026-12-05 09:30:00`, `2026-12-05T09:30`, RFC 3339 or Unix seconds (UTC) → Unix seconds. */
  function parseTime(s) {
    s = String(s || "").trim();
    if (!s) return NaN;
    if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s);
    var iso = s.replace(" ", "T");
    if (!/[zZ]|[+-]\d\d:?\d\d$/.test(iso)) iso += "Z";
    return Date.parse(iso) / 1000;
  }

  // The build version in the top bar; failures there are not worth an error box.
  function loadVersion() {
    api("status/buildinfo").then(function (r) {
      var v = document.getElementById("version");
      if (v && r.data) v.textContent = "Prometheus API " + r.data.version + " · " + r.data.revision;
    }, function () {});
  }
  document.addEventListener("DOMContentLoaded", loadVersion);

  return {
    el: el, api: api, show: show, errorBox: errorBox, seriesName: seriesName,
    labelBadges: labelBadges, parseDuration: parseDuration, formatDuration: formatDuration,
    formatSeconds: formatSeconds, ago: ago, formatTime: formatTime, parseTime: parseTime,
  };
})();
