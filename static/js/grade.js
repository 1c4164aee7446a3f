// Keyboard-first grading: digits answer the focused criterion, Tab moves between
// criteria, Enter submits, S skips, ? shows the keys.
(function () {
  "use strict";

  function form() { return document.getElementById("grade-form"); }

  function criteria() {
    var f = form();
    return f ? Array.prototype.slice.call(f.querySelectorAll("fieldset.criterion")) : [];
  }

  function answered(fieldset) {
    if (fieldset.querySelector("input[type=radio]:checked")) return true;
    var field = fieldset.querySelector("input[type=number], textarea");
    return field ? field.value.trim() !== "" && !fieldset.querySelector("input[type=radio]") : false;
  }

  function focusFirstOpen() {
    var list = criteria();
    if (!list.length) return;
    var target = list.find(function (fs) { return fs.classList.contains("has-error"); }) ||
      list.find(function (fs) { return !answered(fs); }) || list[0];
    var field = target.querySelector("input[type=number], textarea");
    (field || target).focus({ preventScroll: false });
  }

  function isTyping(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && el.type !== "radio" && el.type !== "checkbox"));
  }

  document.addEventListener("keydown", function (event) {
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
        var fs = active.closest("fieldset.criterion");
        if (fs) fs.focus();
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
    if (/^[1-9]$/.test(event.key)) {
      var fieldset = active && active.closest ? active.closest("fieldset.criterion") : null;
      if (!fieldset) return;
      var radio = fieldset.querySelector('input[type=radio][data-key="' + event.key + '"]');
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        fieldset.classList.remove("has-error");
      }
      return;
    }
    if (event.key === "Enter") {
      event.preventDefault();
      f.requestSubmit();
      return;
    }
    if (event.key === "s" || event.key === "S") {
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

  document.addEventListener("htmx:afterSettle", function () {
    if (document.getElementById("grade-item")) focusFirstOpen();
  });
  window.addEventListener("load", function () {
    if (!window.Quorum.resendPendingAnswer()) focusFirstOpen();
  });
})();
