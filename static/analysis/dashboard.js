// Draws the server-built Plotly figures, opens the page of a clicked point, offers each figure as PNG,
// and follows a running analysis.
(function () {
  "use strict";
  // A trace whose `meta` is "video" or "annotator" carries that page's id per point in `customdata`;
  // the page's URL is the one the template wrote for id 0 (data-video-url, data-annotator-url).
  function pageUrl(kind, id) {
    var charts = document.querySelector(".charts");
    var base = charts && charts.dataset[kind + "Url"];
    if (!base || id === undefined || id === null || !/^\d+$/.test(String(id))) { return null; }
    return base.replace(/\/0\/$/, "/" + String(id) + "/");
  }
  function openClicked(event) {
    var point = event && event.points && event.points[0];
    if (!point) { return; }
    var url = pageUrl(point.data.meta, point.customdata);
    if (url) { window.location.assign(url); }
  }
  document.querySelectorAll(".chart").forEach(function (el) {
    var data = document.getElementById(el.dataset.name);
    var figure = JSON.parse(JSON.parse(data.textContent));
    Plotly.newPlot(el, figure.data, figure.layout, { responsive: true, displaylogo: false }).then(function (plot) {
      plot.on("plotly_click", openClicked);
    });
  });
  document.querySelectorAll(".png-button").forEach(function (button) {
    button.addEventListener("click", function () {
      Plotly.downloadImage(document.getElementById(button.dataset.chart), { format: "png", filename: button.dataset.file, width: 1200, height: 700 });
    });
  });
  var progress = document.getElementById("run-progress");
  if (progress && (progress.dataset.status === "queued" || progress.dataset.status === "running")) {
    var poll = function () {
      fetch(progress.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (run) {
          document.getElementById("run-status").textContent = run.status;
          document.getElementById("run-stage").textContent = run.stage || "";
          document.getElementById("run-progress-bar").value = run.done;
          if (run.status === "completed" || run.status === "failed") { window.location.reload(); }
          else { setTimeout(poll, 1500); }
        })
        .catch(function () { setTimeout(poll, 5000); });
    };
    setTimeout(poll, 1500);
  }
})();
