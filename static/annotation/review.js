// The review page: a double-clicked Finish sends once.
(function () {
  "use strict";
  var form = document.getElementById("finish-form");
  if (!form) { return; }
  form.addEventListener("submit", function () { document.getElementById("finish-button").disabled = true; });
})();
