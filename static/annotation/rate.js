// Rating page: playback facts, keys 1-5, and a submit that survives double clicks and lost connections.
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
  var facts;
  var sending = false;

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

  player.addEventListener("play", function () { facts.plays += 1; });
  player.addEventListener("ended", function () { facts.ended = true; });
  player.addEventListener("seeked", function () {
    if (facts.replaying) { facts.replaying = false; return; }
    facts.seeks += 1;
  });
  document.addEventListener("fullscreenchange", function () {
    if (document.fullscreenElement) { facts.fullscreen = true; }
  });
  document.getElementById("replay-button").addEventListener("click", function () {
    facts.replaying = player.currentTime > 0;
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
    if (event.target === reason || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key >= "1" && event.key <= "5") {
      var radio = document.getElementById("grade-" + event.key);
      radio.checked = true;
      radio.dispatchEvent(new Event("change", { bubbles: true }));
      event.preventDefault();
    }
  });

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

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
    resetFacts();
    updateHints();
    showError("");
    window.scrollTo(0, 0);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) { return; }  // a double click sends once
    var score = selectedScore();
    if (score === null) { showError(texts.grade_missing); return; }
    // Visible characters only, a Han ideograph counting han_weight, as the server counts them
    // (annotation.rules.visible_length: the same blocks).
    var visible = reason.value.replace(/[\s\p{C}]/gu, "");
    var han = (visible.match(/[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u{20000}-\u{3ffff}]/gu) || []).length;
    if (Array.from(visible).length + (texts.han_weight - 1) * han < minReason) {
      showError(score === 5 ? texts.too_short_5 : texts.too_short);
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
      if (data.item) { show(data.item); }
      else if (data.redirect) { window.location.assign(data.redirect); return; }
      else { showError(data.error || texts.not_saved); }
    }).catch(function (error) {
      showError(error && error.fromServer ? error.message : texts.offline);
    }).then(function () {
      sending = false;
      submitButton.disabled = false;
      submitButton.textContent = texts.save;
    });
  });
})();
