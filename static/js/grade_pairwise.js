// Keyboard-first pairwise grading. A / B: response A (left) or B (right) is better,
// T: tie, X: both bad, 1 / 2: slightly / clearly, R: rationale, D: differences,
// Enter submits, S skips, ? shows the keys. Inside a per-criterion box, A / B / T
// answer that criterion.
(function () {
  "use strict";

  function form() { return document.getElementById("grade-form"); }

  function isTyping(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && el.type !== "radio" && el.type !== "checkbox"));
  }

  function pick(fieldset, key) {
    if (!fieldset) return false;
    var radio = fieldset.querySelector('input[type=radio][data-key="' + key + '"]');
    if (!radio) return false;
    radio.checked = true;
    fieldset.classList.remove("has-error");
    return true;
  }

  function focusStart() {
    var f = form();
    if (!f) return;
    var target = f.querySelector("fieldset.has-error, .criterion.has-error textarea") ||
      document.getElementById("pref-choice");
    if (target) target.focus({ preventScroll: true });
  }

  // A key pressed between a swap and its settle wins over the automatic focus.
  var swappedAt = 0;
  var keyAt = 0;

  document.addEventListener("keydown", function (event) {
    keyAt = Date.now();
    if (event.altKey || event.metaKey) return;
    var active = document.activeElement;
    var f = form();
    if (isTyping(active)) {
      if (active.tagName === "TEXTAREA" && event.key === "Enter" && event.ctrlKey && f) {
        event.preventDefault();
        f.requestSubmit();
      } else if (active.tagName === "SELECT" && active.id === "skip-reason" && event.key === "Enter") {
        event.preventDefault();
        document.getElementById("skip-form").requestSubmit();
      } else if (event.key === "Escape") {
        event.preventDefault();
        var choice = document.getElementById("pref-choice");
        if (choice) choice.focus();
      }
      return;
    }
    if (event.ctrlKey) return;
    if (event.key === "?") {
      event.preventDefault();
      window.Quorum.togglePanel("keys");
      return;
    }
    if (!f) return;
    var key = event.key.toLowerCase();
    var inCriterion = active && active.closest ? active.closest("fieldset.per-criterion") : null;
    if (key === "a" || key === "b" || key === "t" || key === "x") {
      var target = inCriterion && key !== "x" ? inCriterion : document.getElementById("pref-choice");
      if (pick(target, key)) event.preventDefault();
      return;
    }
    if (key === "1" || key === "2") {
      if (pick(document.getElementById("pref-strength"), key)) event.preventDefault();
      return;
    }
    if (key === "r") {
      var box = document.getElementById("rationale");
      if (box) {
        event.preventDefault();
        box.focus();
      }
      return;
    }
    if (key === "d") {
      event.preventDefault();
      window.Quorum.togglePanel("pair-diff");
      return;
    }
    if (event.key === "Enter") {
      if (active && active.tagName === "BUTTON" && !active.closest("#grade-form")) return;
      event.preventDefault();
      f.requestSubmit();
      return;
    }
    if (key === "s") {
      var reason = document.getElementById("skip-reason");
      if (reason) {
        event.preventDefault();
        reason.focus();
      }
    }
  });

  document.addEventListener("change", function (event) {
    var fs = event.target.closest && event.target.closest("fieldset.criterion");
    if (fs) fs.classList.remove("has-error");
  });

  document.addEventListener("htmx:afterSwap", function () { swappedAt = Date.now(); });
  document.addEventListener("htmx:afterSettle", function () {
    if (keyAt >= swappedAt && swappedAt) return;
    if (document.getElementById("grade-item")) focusStart();
  });
  document.addEventListener("DOMContentLoaded", focusStart);
  window.addEventListener("load", function () { window.Quorum.resendPendingAnswer(); });
})();
