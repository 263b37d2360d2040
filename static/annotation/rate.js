// Rating page: playback facts (and, where required, play start and end reported to the server), keys 1-5,
// Ctrl+Enter, the time left, and a submit that survives double clicks and lost connections.
// The server keys each answer by (attempt, position), so re-sending the same answer is always safe.
(function () {
  "use strict";
  var form = document.getElementById("rating-form");
  var player = document.getElementById("player");
  var reason = document.getElementById("reason");
  var submitButton = document.getElementById("submit-button");
  var errorBox = document.getElementById("form-error");
  var grade5Hint = document.getElementById("grade5-hint");
  var reasonLabel = document.getElementById("reason-label");
  var minReason = parseInt(reason.dataset.min || "0", 10);
  // The page's texts in the annotator's language (annotation.language.rate_page_texts).
  var texts = JSON.parse(document.getElementById("rate-texts").textContent);
  var playsUrl = form.dataset.playsUrl || "";  // set where the campaign requires play to the end
  var timeLeft = document.getElementById("time-left");
  var serverPace = parseFloat(timeLeft.dataset.secondsPerItem || "0");
  var paces = [];  // seconds per saved answer on this page: the person's own pace, as it goes
  var shownAt = Date.now();
  var facts;
  var sending = false;
  var playStarted = Promise.resolve(null);

  function resetFacts() {
    facts = { plays: 0, seeks: 0, ended: false, fullscreen: false, replaying: false };
    writeFacts();
  }

  function writeFacts() {
    document.getElementById("played_to_end").value = facts.ended ? "on" : "";
    document.getElementById("plays").value = facts.plays;
    document.getElementById("seeks").value = facts.seeks;
    document.getElementById("fullscreen").value = facts.fullscreen ? "on" : "";
  }
  resetFacts();

  // Where the campaign requires it, the server times each play from the beginning to the end
  // (annotation.services.playback): it accepts an end only when the video's duration has passed.
  function report(event) {
    return fetch(playsUrl, {
      method: "POST",
      body: JSON.stringify({ event: event, token: document.getElementById("token").value }),
      headers: { "Accept": "application/json", "Content-Type": "application/json" },
      credentials: "same-origin"
    }).then(function (response) { return response.json(); });
  }
  player.addEventListener("play", function () {
    facts.plays += 1;
    if (playsUrl && player.currentTime < 0.5) { playStarted = report("start").catch(function () { return null; }); }
  });
  player.addEventListener("ended", function () {
    facts.ended = true;
    if (!playsUrl) { return; }
    playStarted.then(function () { return report("end"); }).then(function (data) {
      if (data && data.error) { showError(data.error); } else if (errorBox.dataset.code === "play" || errorBox.dataset.code === "not_played_to_end") { showError(""); }
    }).catch(function () { /* the submit will say so if the end did not reach the server */ });
  });
  player.addEventListener("seeked", function () {
    if (facts.replaying) { facts.replaying = false; return; }
    facts.seeks += 1;
  });
  document.addEventListener("fullscreenchange", function () {
    if (document.fullscreenElement) { facts.fullscreen = true; }
  });
  document.getElementById("replay-button").addEventListener("click", function () {
    facts.replaying = player.currentTime > 0;
    if (playsUrl && !player.paused) { playStarted = report("start").catch(function () { return null; }); }  // no "play" event follows
    player.currentTime = 0;
    player.play();
  });
  document.getElementById("fullscreen-button").addEventListener("click", function () {
    if (player.requestFullscreen) { player.requestFullscreen(); }
    else if (player.webkitEnterFullscreen) { player.webkitEnterFullscreen(); facts.fullscreen = true; }
  });

  function selectedScore() {
    var checked = form.querySelector("input[name=score]:checked");
    return checked ? parseInt(checked.value, 10) : null;
  }

  function updateHints() {
    var is5 = selectedScore() === 5;
    grade5Hint.hidden = !is5;
    reasonLabel.textContent = is5 ? texts.reason_label_5 : texts.reason_label;
  }
  form.addEventListener("change", updateHints);
  updateHints();

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {  // save from anywhere, the reason box included
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.target === reason || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key >= "1" && event.key <= "5") {
      var radio = document.getElementById("grade-" + event.key);
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      event.preventDefault();
    }
  });

  function showError(message, code) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
    errorBox.dataset.code = message ? (code || "play") : "";
  }

  function median(values) {
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    var middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  // The items left times the person's pace: their own on this page once they saved an answer here,
  // the server's estimate before (their earlier ratings, or the campaign's expected duration).
  function updateTimeLeft(total, rated) {
    var pace = paces.length ? median(paces) : serverPace;
    timeLeft.hidden = !(pace > 0) || rated >= total;
    if (!timeLeft.hidden) {
      document.getElementById("minutes-left").textContent = Math.max(1, Math.round((total - rated) * pace / 60));
    }
  }
  updateTimeLeft(parseInt(document.getElementById("progress-bar").max, 10), parseInt(document.getElementById("progress-bar").value, 10));

  function show(item) {
    // Swap in the next video without reloading the page.
    player.pause();
    player.setAttribute("poster", item.poster_url);
    player.src = item.video_url;
    player.load();
    document.getElementById("token").value = item.token;
    document.getElementById("progress-text").textContent = item.position + " / " + item.total;
    var bar = document.getElementById("progress-bar");
    bar.max = item.total;
    bar.value = item.rated;
    form.querySelectorAll("input[name=score]").forEach(function (radio) {
      radio.checked = item.score !== null && parseInt(radio.value, 10) === item.score;
    });
    reason.value = item.reason || "";
    var back = document.getElementById("back-link");
    back.hidden = item.position <= 1;
    back.href = "?position=" + (item.position - 1);
    history.replaceState(null, "", "?position=" + item.position);
    updateTimeLeft(item.total, item.rated);
    shownAt = Date.now();
    playStarted = Promise.resolve(null);
    resetFacts();
    updateHints();
    showError("");
    window.scrollTo(0, 0);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) { return; }  // a double click sends once
    var score = selectedScore();
    if (score === null) { showError(texts.grade_missing, "form"); return; }
    // Visible characters only, a Han ideograph counting han_weight, as the server counts them
    // (annotation.rules.visible_length: the same blocks).
    var visible = reason.value.replace(/[\s\p{C}]/gu, "");
    var han = (visible.match(/[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{3ffff}]/gu) || []).length;
    if (Array.from(visible).length + (texts.han_weight - 1) * han < minReason) {
      showError(score === 5 ? texts.too_short_5 : texts.too_short, "form");
      reason.focus();
      return;
    }
    writeFacts();
    sending = true;
    submitButton.disabled = true;
    submitButton.textContent = texts.saving;
    // The form's fields as one JSON object: smaller and cheaper to read than multipart form data,
    // and a content type no other site can make a browser send here (the API takes no CSRF token).
    var answer = {};
    new FormData(form).forEach(function (value, name) { answer[name] = value; });
    fetch(form.action, {
      method: "POST",
      body: JSON.stringify(answer),
      headers: { "Accept": "application/json", "Content-Type": "application/json" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().catch(function () {
        var failed = new Error(texts.server_error.replace("{status}", response.status));
        failed.fromServer = true;
        throw failed;
      });
    }).then(function (data) {
      if (data.item || data.redirect) { paces.push((Date.now() - shownAt) / 1000); }
      if (data.item) { show(data.item); }
      else if (data.redirect) { window.location.assign(data.redirect); return; }
      else { showError(data.error || texts.not_saved, data.code); }
    }).catch(function (error) {
      showError(error && error.fromServer ? error.message : texts.offline, "connection");
    }).then(function () {
      sending = false;
      submitButton.disabled = false;
      submitButton.textContent = texts.save;
    });
  });
})();
