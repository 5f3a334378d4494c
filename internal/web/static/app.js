// callrec web UI: small progressive enhancements; every page works without
// this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Clicking a transcript time plays the recording from there.
  var player = document.getElementById("player");
  document.querySelectorAll("[data-seek]").forEach(function (b) {
    if (!player) {
      b.disabled = true;
      return;
    }
    b.addEventListener("click", function () {
      player.currentTime = Number(b.getAttribute("data-seek")) / 1000;
      player.play().catch(function () {});
    });
  });
});
