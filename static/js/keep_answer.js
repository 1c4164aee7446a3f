// An answer being submitted is kept in sessionStorage until the server has it, so a
// session that expired mid-item costs nothing: after the new login the grading page
// (rubric or pairwise) sends it again to the same assignment or pair; the server decides
// whether it still counts.
(function () {
  "use strict";

  var PENDING = "quorum-pending-answer";

  function queueBase(url) {
    var match = /^(.*\/queues\/\d+\/)/.exec(url || "");
    return match ? match[1] : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var f = event.detail.elt;
    if (!f || f.id !== "grade-form") return;
    var values = {};
    new FormData(f).forEach(function (value, key) {
      if (key !== "csrfmiddlewaretoken") values[key] = value;
    });
    sessionStorage.setItem(PENDING, JSON.stringify({ url: f.getAttribute("hx-post"), values: values }));
  });

  // By the time htmx reports the request done, the answered form has been swapped out
  // of the page: the event reaches the document from an ancestor, so the request's own
  // element says whether it was an answer.
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    var f = config ? config.elt : null;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (f && f.id === "grade-form" && status >= 200 && status < 500 && status !== 401) {
      sessionStorage.removeItem(PENDING);
    }
  });

  // Send the kept answer if this page grades the same queue; true when it was sent.
  function resendPending() {
    var raw = sessionStorage.getItem(PENDING);
    var f = document.getElementById("grade-form");
    if (!raw || !f || !window.htmx) return false;
    var pending = JSON.parse(raw);
    var base = queueBase(pending.url);
    if (!base || base !== queueBase(f.getAttribute("hx-post"))) return false;
    sessionStorage.removeItem(PENDING);
    window.htmx.ajax("POST", pending.url, {
      source: document.getElementById("grade-item"),
      target: "#grade-item",
      swap: "outerHTML",
      values: pending.values,
    });
    return true;
  }

  window.Quorum = Object.assign(window.Quorum || {}, { resendPendingAnswer: resendPending });
})();
