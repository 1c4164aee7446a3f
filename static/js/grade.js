// Keyboard-first grading: digits answer the focused criterion, Tab moves between
// criteria, Enter submits, S skips, ? shows the keys (shared keys: grade_keys.js).
(function () {
  "use strict";

  function criteria() {
    var form = document.getElementById("grade-form");
    return form ? Array.prototype.slice.call(form.querySelectorAll("fieldset.criterion")) : [];
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

  window.Quorum.gradingKeys({
    key: function (event, active) {
      if (!/^[1-9]$/.test(event.key)) return false;
      var fieldset = active && active.closest ? active.closest("fieldset.criterion") : null;
      var radio = fieldset &&
        fieldset.querySelector('input[type=radio][data-key="' + event.key + '"]');
      if (radio) {
        event.preventDefault();
        radio.checked = true;
        fieldset.classList.remove("has-error");
      }
      return true;
    },
    escape: function (active) {
      var fieldset = active.closest("fieldset.criterion");
      if (fieldset) fieldset.focus();
    },
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (document.getElementById("grade-form")) focusFirstOpen();
  });
  window.addEventListener("load", function () {
    // An answer kept while offline is sent first (keep_answer.js; not on the practice page).
    var resend = window.Quorum.resendPendingAnswer;
    if (!(resend && resend())) focusFirstOpen();
  });
})();
