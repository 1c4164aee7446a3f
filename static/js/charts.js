// Draws every <canvas data-chart="ID"> from the Chart.js config in the JSON script ID
// (rendered with Django's json_script), or in the canvas's own data-chart-config attribute
// (use that inside htmx fragments: htmx drops <script> tags from swapped content when
// allowScriptTags is false). Runs on load and after htmx swaps.
//
// Quorum extras, read from config.quorum and removed before Chart.js sees the config:
//   links:  [[url, ...] per data point] per dataset: clicking a point or bar opens its items;
//   counts: [[n, ...] per data point] per dataset: shown as "n = ..." in the tooltip.
// The "table" toggle next to each chart is a data-toggle button handled by app.js.
(function () {
  "use strict";

  function pick(table, datasetIndex, index) {
    return table && table[datasetIndex] ? table[datasetIndex][index] : undefined;
  }

  function enhance(config) {
    var extra = config.quorum || {};
    delete config.quorum;
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false },
      config.options || {}
    );
    if (extra.counts) {
      config.options.plugins = config.options.plugins || {};
      config.options.plugins.tooltip = Object.assign({}, config.options.plugins.tooltip, {
        callbacks: {
          footer: function (items) {
            if (!items.length) return "";
            var n = pick(extra.counts, items[0].datasetIndex, items[0].dataIndex);
            return n === undefined ? "" : "n = " + n;
          }
        }
      });
    }
    if (extra.links) {
      config.options.onClick = function (event, elements) {
        if (!elements.length) return;
        var url = pick(extra.links, elements[0].datasetIndex, elements[0].index);
        if (url) window.location.assign(url);
      };
      config.options.onHover = function (event, elements) {
        event.native.target.style.cursor = elements.length ? "pointer" : "default";
      };
    }
    return config;
  }

  function draw(root) {
    if (!window.Chart) return;
    (root || document).querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var text = canvas.getAttribute("data-chart-config");
      if (!text) {
        var source = document.getElementById(canvas.getAttribute("data-chart"));
        if (!source) return;
        text = source.textContent;
      }
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      new window.Chart(canvas, enhance(JSON.parse(text)));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  // htmx fires htmx:load on every element it swaps in (an outerHTML swap's old target is
  // detached by then, so afterSettle would not reach the document).
  document.addEventListener("htmx:load", function (event) {
    if (event.target !== document.body) draw(event.target);
  });
  window.QuorumCharts = { draw: draw, enhance: enhance };
})();
