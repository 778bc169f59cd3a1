// Graphs drawn with uPlot from /api/series. Text only through textContent (never innerHTML).
"use strict";
(function () {
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22"];
  var RANGES = { day: 86400, week: 7 * 86400, month: 31 * 86400, year: 365 * 86400 };
  var state = { range: "day", from: null, to: null, host: "" };
  var charts = [];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function fmt(v) {
    if (v === null || v === undefined || isNaN(v)) { return "—"; }
    var a = Math.abs(v);
    if (a >= 1e12) { return (v / 1e12).toFixed(1) + "T"; }
    if (a >= 1e9) { return (v / 1e9).toFixed(1) + "G"; }
    if (a >= 1e6) { return (v / 1e6).toFixed(1) + "M"; }
    if (a >= 1e4) { return (v / 1e3).toFixed(1) + "k"; }
    return (Math.round(v * 100) / 100).toString();
  }

  function labelText(labels) {
    var parts = [];
    Object.keys(labels || {}).sort().forEach(function (k) {
      if (k !== "host") { parts.push(k + "=" + labels[k]); }
    });
    return parts.join(" ") || "value";
  }

  function window_() {
    if (state.from !== null && state.to !== null) { return [state.from, state.to]; }
    var to = Date.now() / 1000;
    return [to - RANGES[state.range], to];
  }

  function Chart(container, metric, unit, help, hosts) {
    this.hosts = hosts || null;
    this.box = el("div", "graph");
    this.box.appendChild(el("h3", null, metric + (unit ? " (" + unit + ")" : "")));
    if (help) { this.box.appendChild(el("p", "help", help)); }
    this.plotBox = el("div", "plot");
    this.stats = el("div", "stats");
    this.box.appendChild(this.plotBox);
    this.box.appendChild(this.stats);
    container.appendChild(this.box);
    this.metric = metric;
    this.plot = null;
    this.loaded = false;
    this.seq = 0;
  }

  Chart.prototype.width = function () {
    return Math.max(200, Math.floor(this.plotBox.getBoundingClientRect().width || 560));
  };

  Chart.prototype.load = function (from, to) {
    var self = this;
    var range = (from !== undefined) ? [from, to] : window_();
    var url = "/api/series?metric=" + encodeURIComponent(this.metric) + "&from=" + Math.floor(range[0]) +
      "&to=" + Math.ceil(range[1]) + "&width=" + this.width() + (state.host ? "&host=" + encodeURIComponent(state.host) : "");
    var seq = ++this.seq;
    this.loaded = true;
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (data) {
      if (seq === self.seq) { self.draw(data, range); }
    }).catch(function (err) {
      self.stats.textContent = String(err);
    });
  };

  Chart.prototype.draw = function (data, range) {
    var self = this;
    var tables = [];
    var series = [{}];
    var statLines = [];
    data.series.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length];
      tables.push([s.t, s.avg, s.max, s.min]);
      var name = labelText(s.labels);
      series.push({ label: name, stroke: color, width: 1.5 });
      series.push({ label: name + " max", stroke: color, width: 0.5, dash: [4, 3] });
      series.push({ label: name + " min", stroke: color, width: 0.5, dash: [1, 3] });
      var lo = null, hi = null, sum = 0, n = 0;
      for (var j = 0; j < s.t.length; j++) {
        if (s.min[j] !== null && (lo === null || s.min[j] < lo)) { lo = s.min[j]; }
        if (s.max[j] !== null && (hi === null || s.max[j] > hi)) { hi = s.max[j]; }
        if (s.avg[j] !== null) { sum += s.avg[j]; n++; }
      }
      statLines.push(name + ": min " + fmt(lo) + " · avg " + fmt(n ? sum / n : null) + " · max " + fmt(hi));
    });
    var joined = tables.length ? uPlot.join(tables) : [[]];
    (data.thresholds || []).forEach(function (th) {
      var line = joined[0].map(function () { return th.value; });
      joined.push(line);
      series.push({ label: th.level + " " + fmt(th.value), stroke: th.level === "critical" ? "#c62828" : "#e69500",
                    width: 1, dash: [8, 4] });
    });
    this.stats.textContent = "";
    statLines.forEach(function (line) { self.stats.appendChild(el("div", null, line)); });
    if (!tables.length) { this.stats.textContent = "—"; }
    var opts = {
      width: this.width(),
      height: 220,
      series: series,
      scales: { x: { time: true, min: range[0], max: range[1] } },
      axes: [{}, { size: 60, values: function (u, vals) { return vals.map(fmt); } }],
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      hooks: {
        setSelect: [function (u) {
          if (u.select.width > 5) {
            var a = u.posToVal(u.select.left, "x"), b = u.posToVal(u.select.left + u.select.width, "x");
            self.load(a, b);
          }
        }]
      }
    };
    if (this.plot) { this.plot.destroy(); }
    this.plotBox.textContent = "";
    this.plot = new uPlot(opts, joined, this.plotBox);
    this.plotBox.addEventListener("dblclick", function () { self.load(); });
    this.box.setAttribute("data-points", String(joined[0].length));
    this.box.setAttribute("data-from", String(Math.floor(range[0])));
  };

  function observe(chart) {
    if (!("IntersectionObserver" in window)) { chart.load(); return; }
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { io.disconnect(); chart.load(); }
      });
    }, { rootMargin: "200px" });
    io.observe(chart.box);
  }

  function reloadAll() {
    charts.forEach(function (c) {
      c.box.hidden = Boolean(state.host && c.hosts && c.hosts.indexOf(state.host) < 0);
      if (c.box.hidden) { return; }
      if (c.loaded) { c.load(); } else { observe(c); }
    });
  }

  function graphsPage(root) {
    var words = JSON.parse(root.getAttribute("data-labels") || "{}");
    fetch("/api/graphs", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (cat) {
      var hostSelect = document.getElementById("host");
      (cat.hosts || []).forEach(function (h) {
        var o = el("option", null, h || "—");
        o.value = h;
        hostSelect.appendChild(o);
      });
      var wanted = new URLSearchParams(window.location.search).get("host");
      if (wanted !== null && (cat.hosts || []).indexOf(wanted) >= 0) { hostSelect.value = wanted; }
      state.host = hostSelect.value || "";
      hostSelect.addEventListener("change", function () { state.host = hostSelect.value; reloadAll(); });
      var groups = cat.groups || {};
      if (!Object.keys(groups).length) { root.appendChild(el("p", "quiet", words.empty)); }
      Object.keys(groups).forEach(function (g) {
        var sec = el("section", "group");
        sec.id = "group-" + g;
        sec.appendChild(el("h2", null, words[g] || g));
        var grid = el("div", "graphs");
        sec.appendChild(grid);
        root.appendChild(sec);
        groups[g].forEach(function (m) {
          var c = new Chart(grid, m.metric, m.unit, m.help, m.hosts);
          charts.push(c);
          c.box.hidden = Boolean(state.host && m.hosts.indexOf(state.host) < 0);
          if (!c.box.hidden) { observe(c); }
        });
      });
    });
    document.querySelectorAll("button.range").forEach(function (b) {
      b.addEventListener("click", function () {
        state.range = b.getAttribute("data-range");
        state.from = state.to = null;
        document.querySelectorAll("button.range").forEach(function (x) { x.classList.toggle("on", x === b); });
        reloadAll();
      });
    });
    // pan: move the shown window by half its span, back or forward in time
    document.querySelectorAll("button.pan").forEach(function (b) {
      b.addEventListener("click", function () {
        var w = window_();
        var shift = (w[1] - w[0]) / 2 * Number(b.getAttribute("data-dir"));
        var now = Date.now() / 1000;
        state.from = w[0] + shift;
        state.to = Math.min(w[1] + shift, now);
        if (state.to - state.from < 60) { state.from = state.to - (w[1] - w[0]); }
        reloadAll();
      });
    });
    var form = document.getElementById("range");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var f = Date.parse(document.getElementById("from").value), t = Date.parse(document.getElementById("to").value);
      if (!isNaN(f) && !isNaN(t) && f < t) { state.from = f / 1000; state.to = t / 1000; reloadAll(); }
    });
  }

  function graphSets() {
    document.querySelectorAll(".graph-set").forEach(function (set) {
      state.range = set.getAttribute("data-range") || "day";
      var grid = el("div", "graphs");
      set.appendChild(grid);
      (set.getAttribute("data-metrics") || "").split(",").forEach(function (m) {
        if (m) { var c = new Chart(grid, m, "", ""); charts.push(c); observe(c); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("groups");
    if (root) { graphsPage(root); }
    graphSets();
  });
})();
