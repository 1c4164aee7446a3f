// Keys both grading pages share: ? shows the keys, S goes to the skip reasons (Enter
// there skips), Enter submits, Ctrl+Enter submits from a text box, Escape leaves one.
// A page adds its own keys: Quorum.gradingKeys({ key: fn, escape: fn }), where
// key(event, active) returns true when it took the key and escape(active) moves the
// focus out of a text box.
(function () {
  "use strict";

  function isTyping(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && el.type !== "radio" && el.type !== "checkbox"));
  }

  // htmx binds a swapped-in form only when the swap settles (20 ms later); a key
  // pressed before that would post the form natively and leave the page. process()
  // binds it now, and does nothing to a form that is already bound.
  function submit(form) {
    if (window.htmx) window.htmx.process(form);
    form.requestSubmit();
  }

  function whileTyping(event, active, form, page) {
    if (active.tagName === "TEXTAREA" && event.key === "Enter" && event.ctrlKey && form) {
      event.preventDefault();
      submit(form);
    } else if (active.id === "skip-reason" && event.key === "Enter") {
      event.preventDefault();
      submit(document.getElementById("skip-form"));
    } else if (event.key === "Escape") {
      event.preventDefault();
      page.escape(active);
    }
  }

  function gradingKeys(page) {
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.metaKey) return;
      var active = document.activeElement;
      var form = document.getElementById("grade-form");
      if (isTyping(active)) {
        whileTyping(event, active, form, page);
        return;
      }
      if (event.ctrlKey) return;
      if (event.key === "?") {
        event.preventDefault();
        window.Quorum.togglePanel("keys");
        return;
      }
      if (!form || page.key(event, active)) return;
      if (event.key === "Enter") {
        // A button outside the form (Show keys, Skip) does what it says.
        if (active && active.tagName === "BUTTON" && !active.closest("#grade-form")) return;
        event.preventDefault();
        submit(form);
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
      var fieldset = event.target.closest && event.target.closest("fieldset.criterion");
      if (fieldset) fieldset.classList.remove("has-error");
    });
  }

  window.Quorum = Object.assign(window.Quorum || {}, { gradingKeys: gradingKeys });
})();
