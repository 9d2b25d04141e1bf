// Rapport dashboard: fetch the k-anonymous report and draw every table as a uPlot chart
// with its accessible table and a CSV link. No number is computed here: a null from the
// server is shown as "< k", in the chart (a gap) and in the table alike.
(function () {
  "use strict";

  var root = document.documentElement;
  var THEME_KEY = "rapport-dashboard-theme";
  var PALETTE = ["#2f6fde", "#e0672b", "#2a9d62", "#b23c8f", "#8b6d12", "#0f8a9d", "#6a5acd", "#c0392b"];

  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") root.dataset.theme = theme;
    else delete root.dataset.theme;
  }
  try { applyTheme(localStorage.getItem(THEME_KEY)); } catch (e) { /* storage off */ }

  function currentTheme() {
    if (root.dataset.theme) return root.dataset.theme;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  var panelsEl = document.getElementById("panels");
  var themeButton = document.getElementById("theme");
  var state = { days: 7, report: null, plots: [] };

  if (themeButton) {
    themeButton.addEventListener("click", function () {
      var next = currentTheme() === "dark" ? "light" : "dark";
      applyTheme(next);
      try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* storage off */ }
      if (state.report) render(state.report);
    });
  }
  if (!panelsEl) return; // the sign-in page

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fmt(value, k) {
    if (value === null || value === undefined) return "< " + k;
    if (typeof value === "number") {
      if (Number.isInteger(value)) return value.toLocaleString("en");
      return String(Math.round(value * 1000) / 1000);
    }
    return String(value);
  }

  function numericColumns(table) {
    var cols = [];
    for (var c = 1; c < table.columns.length; c++) {
      var numeric = table.rows.length > 0 && table.rows.every(function (r) {
        return r[c] === null || typeof r[c] === "number";
      });
      if (numeric) cols.push(c);
    }
    return cols;
  }

  function colours() {
    var style = getComputedStyle(root);
    return { text: style.getPropertyValue("--fg").trim(), grid: style.getPropertyValue("--grid").trim() };
  }

  function axes(xValues) {
    var c = colours();
    var x = { stroke: c.text, grid: { stroke: c.grid }, ticks: { stroke: c.grid } };
    if (xValues) { x.values = xValues.values; x.splits = xValues.splits; }
    return [x, { stroke: c.text, grid: { stroke: c.grid }, ticks: { stroke: c.grid } }];
  }

  function drawChart(holder, table, width) {
    var cols = numericColumns(table);
    if (!cols.length || !table.rows.length) return null;
    var line = table.chart === "line";
    var labels = table.rows.map(function (r) { return String(r[0]); });
    var xs = line
      ? table.rows.map(function (r) { return Date.parse(r[0] + "T12:00:00Z") / 1000; })
      : table.rows.map(function (_, i) { return i; });
    var data = [xs].concat(cols.map(function (c) { return table.rows.map(function (r) { return r[c]; }); }));
    var single = cols.length === 1;
    var series = [{ label: line ? "day" : table.columns[0] }].concat(cols.map(function (c, i) {
      var colour = PALETTE[i % PALETTE.length];
      var s = { label: table.columns[c], stroke: colour, width: 2, spanGaps: false };
      if (!line) {
        if (single) {
          s.fill = colour + "99";
          s.paths = uPlot.paths.bars({ size: [0.6, 60] });
          s.points = { show: false };
        } else {
          s.paths = function () { return null; };
          s.points = { show: true, size: 9, fill: colour, stroke: colour };
        }
      }
      return s;
    }));
    var opts = {
      width: width,
      height: 240,
      series: series,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: line ? { x: { time: true } } : { x: { time: false, range: [-0.5, xs.length - 0.5] } },
      axes: axes(line ? null : {
        splits: function () { return xs; },
        values: function (u, splits) { return splits.map(function (i) { return labels[i] || ""; }); }
      })
    };
    return new uPlot(opts, data, holder);
  }

  function drawTable(table, k) {
    var t = el("table");
    t.appendChild(el("caption", { class: "visually-hidden" }, table.title));
    var thead = el("thead");
    var hr = el("tr");
    table.columns.forEach(function (c) { hr.appendChild(el("th", { scope: "col" }, c)); });
    thead.appendChild(hr);
    t.appendChild(thead);
    var tbody = el("tbody");
    table.rows.forEach(function (row) {
      var tr = el("tr");
      row.forEach(function (cell, i) {
        var td = el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : null, fmt(cell, k));
        if (cell === null) {
          td.className = "suppressed";
          td.setAttribute("aria-label", "fewer than " + k + " visitors: not shown");
        }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    t.appendChild(tbody);
    var wrap = el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": table.title + " (table)" });
    wrap.appendChild(t);
    return wrap;
  }

  function render(report) {
    state.report = report;
    state.plots.forEach(function (p) { p.destroy(); });
    state.plots = [];
    panelsEl.textContent = "";
    var k = report.k;
    document.getElementById("summary").textContent =
      fmt(report.visitors, k) + " visitors, " + fmt(report.sessions, k) + " sessions · " +
      report.start + " – " + report.end + " (" + report.timezone + ") · any number about fewer than " +
      k + " visitors shows as “< " + k + "”.";
    report.panels.forEach(function (panel) {
      var section = el("section", { class: "panel", id: "panel-" + panel.id, "aria-labelledby": "h-" + panel.id });
      section.appendChild(el("h2", { id: "h-" + panel.id }, panel.title));
      if (panel.note) section.appendChild(el("p", { class: "note" }, panel.note));
      panel.tables.forEach(function (table) {
        var fig = el("figure", { id: "table-" + table.id, "data-table": table.id });
        fig.appendChild(el("figcaption", null, table.title));
        if (table.note) fig.appendChild(el("p", { class: "note" }, table.note));
        var holder = el("div", { class: "chart", role: "img",
          "aria-label": table.title + ": chart; the table below gives every number" });
        fig.appendChild(holder);
        var tableWrap = drawTable(table, k);
        fig.appendChild(tableWrap);
        var link = el("a", {
          class: "csv",
          href: "/dashboard/api/report.csv?days=" + report.days + "&table=" + encodeURIComponent(table.id),
          download: ""
        }, "Download CSV");
        link.setAttribute("aria-label", "Download " + table.title + " as CSV");
        fig.appendChild(link);
        section.appendChild(fig);
        panelsEl.appendChild(section);
        var width = Math.max(280, Math.min(900, holder.clientWidth || panelsEl.clientWidth - 40));
        var plot = drawChart(holder, table, width);
        if (plot) { state.plots.push(plot); holder.dataset.drawn = "true"; }
        else { holder.appendChild(el("p", { class: "empty" }, "No data in this range yet.")); holder.dataset.drawn = "empty"; }
      });
      panelsEl.appendChild(section);
    });
    panelsEl.dataset.days = String(report.days);
  }

  function load(days) {
    state.days = days;
    document.querySelectorAll(".ranges button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.days) === days));
    });
    panelsEl.setAttribute("aria-busy", "true");
    return fetch("/dashboard/api/report?days=" + days, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (reply) {
        if (reply.status === 401) { window.location.reload(); return null; }
        if (!reply.ok) throw new Error("report: HTTP " + reply.status);
        return reply.json();
      })
      .then(function (report) { if (report) render(report); })
      .catch(function (err) {
        document.getElementById("summary").textContent = "Could not load the report (" + err.message + "). Reload to try again.";
      })
      .finally(function () { panelsEl.removeAttribute("aria-busy"); });
  }

  document.querySelectorAll(".ranges button").forEach(function (b) {
    b.addEventListener("click", function () {
      var days = Number(b.dataset.days);
      history.replaceState(null, "", "#days=" + days);
      load(days);
    });
  });
  var match = /days=(\d+)/.exec(location.hash);
  load(match ? Number(match[1]) : 7);
})();
