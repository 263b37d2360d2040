// Lecture page: the start button unlocks once every demo video has been watched to the end. Where the
// campaign requires play to the end, the server times each demo's play too (annotation.services.playback)
// and a demo counts only once the server accepted its end: the start is refused there otherwise.
(function () {
  "use strict";
  var videos = Array.prototype.slice.call(document.querySelectorAll(".demo-video"));
  var start = document.getElementById("start-button");
  var hint = document.getElementById("start-hint");
  var form = document.getElementById("lecture-form");
  var playsUrl = form.dataset.playsUrl || "";
  var watched = new Set();

  function update() {
    var left = videos.length - watched.size;
    start.disabled = left > 0;
    hint.textContent = left > 0 ? hint.dataset.left.replace("{n}", left) : "";  // the text in the page's language
  }

  function report(video, event) {
    return fetch(playsUrl, {
      method: "POST",
      body: JSON.stringify({ event: event, demo: video.dataset.demo }),
      headers: { "Accept": "application/json", "Content-Type": "application/json" },
      credentials: "same-origin"
    }).then(function (response) { return response.json(); });
  }

  videos.forEach(function (video) {
    var status = video.parentNode.querySelector(".demo-status");
    var started = Promise.resolve(null);
    function watchedNow() {
      watched.add(video);
      if (status) { status.textContent = status.dataset.watched; }
      update();
    }
    video.addEventListener("play", function () {
      if (playsUrl && video.currentTime < 0.5) { started = report(video, "start").catch(function () { return null; }); }
    });
    video.addEventListener("ended", function () {
      if (!playsUrl) { watchedNow(); return; }
      started.then(function () { return report(video, "end"); }).then(function (data) {
        if (data && data.ok) { watchedNow(); }
        else if (status && data && data.error) { status.textContent = data.error; }
      }).catch(function () { /* not counted: playing it again reports it again */ });
    });
  });
  form.addEventListener("submit", function () {
    start.disabled = true;  // one session start, however often it is clicked
  });
  update();
})();
