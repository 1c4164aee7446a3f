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

  // An answer being submitted is kept in sessionStorage until the server has it, so a
  // session that expired mid-item costs nothing: after the new login the grading page
  // sends it again (to the same assignment; the server decides whether it still counts).
  var PENDING = "quorum-pending-answer";

  function queueBase(url) { return url.split("/assignments/")[0]; }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var f = event.detail.elt;
    if (!f || f.id !== "grade-form") return;
    var values = {};
    new FormData(f).forEach(function (value, key) {
      if (key !== "csrfmiddlewaretoken") values[key] = value;
    });
    sessionStorage.setItem(PENDING, JSON.stringify({ url: f.getAttribute("hx-post"), values: values }));
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var f = event.detail.elt;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (f && f.id === "grade-form" && status >= 200 && status < 500 && status !== 401) {
      sessionStorage.removeItem(PENDING);
    }
  });

  function resendPending() {
    var raw = sessionStorage.getItem(PENDING);
    var f = form();
    if (!raw || !f || !window.htmx) return false;
    var pending = JSON.parse(raw);
    if (queueBase(pending.url) !== queueBase(f.getAttribute("hx-post"))) return false;
    sessionStorage.removeItem(PENDING);
    window.htmx.ajax("POST", pending.url, {
      source: document.getElementById("grade-item"),
      target: "#grade-item",
      swap: "outerHTML",
      values: pending.values,
    });
    return true;
  }

  document.addEventListener("htmx:afterSettle", function () {
    if (document.getElementById("grade-item")) focusFirstOpen();
  });
  window.addEventListener("load", function () {
    if (!resendPending()) focusFirstOpen();
  });
})();
