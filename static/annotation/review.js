// The review page: a double-clicked Finish sends once, and the page comes back where it was after a change.
(function () {
  "use strict";
  // After "Change" the rating page sends the person back here once the answer is saved: the scroll
  // position is kept for this tab (sessionStorage) and restored once, so a change in row 30 does not
  // land them at the top of a 40-row table.
  var key = "review-scroll:" + window.location.pathname;
  var saved = window.sessionStorage.getItem(key);
  if (saved !== null) {
    window.sessionStorage.removeItem(key);
    window.scrollTo(0, parseInt(saved, 10) || 0);
  }
  document.querySelectorAll("table.review a.change-link").forEach(function (link) {
    link.addEventListener("click", function () { window.sessionStorage.setItem(key, String(window.scrollY)); });
  });
  var form = document.getElementById("finish-form");
  if (!form) { return; }
  form.addEventListener("submit", function () { document.getElementById("finish-button").disabled = true; });
})();
