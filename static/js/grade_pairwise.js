// Keyboard-first pairwise grading. A / B: response A (left) or B (right) is better,
// T: tie, X: both bad, 1 / 2: slightly / clearly, R: rationale, D: differences,
// Enter submits, S skips, ? shows the keys (shared keys: grade_keys.js). Inside a
// per-criterion box, A / B / T answer that criterion.
(function () {
  "use strict";

  function pick(fieldset, key) {
    if (!fieldset) return false;
    var radio = fieldset.querySelector('input[type=radio][data-key="' + key + '"]');
    if (!radio) return false;
    radio.checked = true;
    fieldset.classList.remove("has-error");
    return true;
  }

  function focusStart() {
    var form = document.getElementById("grade-form");
    if (!form) return;
    var target = form.querySelector("fieldset.has-error, .criterion.has-error textarea") ||
      document.getElementById("pref-choice");
    if (target) target.focus({ preventScroll: true });
  }

  // A key pressed between a swap and its settle wins over the automatic focus.
  var swappedAt = 0;
  var keyAt = 0;
  document.addEventListener("keydown", function () { keyAt = Date.now(); }, true);

  window.Quorum.gradingKeys({
    key: function (event, active) {
      var key = event.key.toLowerCase();
      var inCriterion = active && active.closest ? active.closest("fieldset.per-criterion") : null;
      if (key === "a" || key === "b" || key === "t" || key === "x") {
        var target = inCriterion && key !== "x" ? inCriterion : document.getElementById("pref-choice");
        if (pick(target, key)) event.preventDefault();
        return true;
      }
      if (key === "1" || key === "2") {
        if (pick(document.getElementById("pref-strength"), key)) event.preventDefault();
        return true;
      }
      if (key === "r") {
        var box = document.getElementById("rationale");
        if (box) {
          event.preventDefault();
          box.focus();
        }
        return true;
      }
      if (key === "d") {
        event.preventDefault();
        window.Quorum.togglePanel("pair-diff");
        return true;
      }
      return false;
    },
    escape: function () {
      var choice = document.getElementById("pref-choice");
      if (choice) choice.focus();
    },
  });

  document.addEventListener("htmx:afterSwap", function () { swappedAt = Date.now(); });
  document.addEventListener("htmx:afterSettle", function () {
    if (keyAt >= swappedAt && swappedAt) return;
    if (document.getElementById("grade-item")) focusStart();
  });
  document.addEventListener("DOMContentLoaded", focusStart);
  window.addEventListener("load", function () { window.Quorum.resendPendingAnswer(); });
})();
