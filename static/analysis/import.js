// The import page: a file over the site's per-file limit, or more files than one request may carry,
// is told before the upload starts, not after minutes of sending it (the server refuses both too:
// analysis.ingest answers 413 naming the file, Django 400 past DATA_UPLOAD_MAX_NUMBER_FILES).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var limit = Number(form.dataset.maxBytes);
  var maxFiles = Number(form.dataset.maxFiles);
  var message = document.getElementById("upload-too-large");
  form.addEventListener("submit", function (event) {
    var large = [];
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (file) { if (file.size > limit) { large.push(file.name + " (" + file.size + " bytes)"); } });
    });
    var count = document.getElementById("upload-files").files.length;
    if (count > maxFiles) {
      event.preventDefault();
      message.textContent = count + " files chosen; at most " + maxFiles + " can be sent at once. Import them in several uploads, or from a server folder.";
      message.hidden = false;
    } else if (large.length) {
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
