// Draws the server-built Plotly figures, offers each as PNG, and follows a running analysis.
(function () {
  "use strict";
  document.querySelectorAll(".chart").forEach(function (el) {
    var data = document.getElementById(el.dataset.name);
    var figure = JSON.parse(JSON.parse(data.textContent));
    Plotly.newPlot(el, figure.data, figure.layout, { responsive: true, displaylogo: false });
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
