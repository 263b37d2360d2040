// The import page: a file over the site's per-file limit is named before the upload starts, not
// after minutes of sending it (the server refuses it too: analysis.ingest, 413).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var limit = Number(form.dataset.maxBytes);
  var message = document.getElementById("upload-too-large");
  form.addEventListener("submit", function (event) {
    var large = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (file) { if (file.size > limit) { large.push(file.name + " (" + file.size + " bytes)"); } });
    });
    if (large.length) {
      event.preventDefault();
      message.textContent = "Too large to import (at most " + limit + " bytes per file): " + large.join(", ") + ".";
      message.hidden = false;
    } else {
      message.hidden = true;
      document.getElementById("upload-button").disabled = true;
      document.getElementById("upload-button").textContent = "Uploading…";
    }
  });
})();
