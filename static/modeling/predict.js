// The predict page: a video is sent once however often Score is clicked (each send is a whole prediction on the
// server, seconds to a minute of CPU), and the page says it is working meanwhile.
(function () {
  "use strict";
  var form = document.getElementById("predict-form");
  if (!form) { return; }
  var button = document.getElementById("predict-button");
  var status = document.getElementById("predict-status");
  form.addEventListener("submit", function () {
    button.disabled = true;
    status.hidden = false;
  });
  // Back to this page from the browser's cache: the form may be used again.
  window.addEventListener("pageshow", function () {
    button.disabled = false;
    status.hidden = true;
  });
})();
