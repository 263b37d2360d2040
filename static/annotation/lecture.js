// Lecture page: the start button unlocks once every demo video has been watched to the end.
(function () {
  "use strict";
  var videos = Array.prototype.slice.call(document.querySelectorAll(".demo-video"));
  var start = document.getElementById("start-button");
  var hint = document.getElementById("start-hint");
  var watched = new Set();

  function update() {
    var left = videos.length - watched.size;
    start.disabled = left > 0;
    hint.textContent = left > 0 ? hint.dataset.left.replace("{n}", left) : "";  // the text in the page's language
  }
  videos.forEach(function (video) {
    video.addEventListener("ended", function () {
      watched.add(video);
      var status = video.parentNode.querySelector(".demo-status");
      if (status) { status.textContent = status.dataset.watched; }
      update();
    });
  });
  document.getElementById("lecture-form").addEventListener("submit", function () {
    start.disabled = true;  // one session start, however often it is clicked
  });
  update();
})();
