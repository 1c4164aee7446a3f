// Quorum page behaviour shared by every page. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  function togglePanel(id, force) {
    var panel = document.getElementById(id);
    if (!panel) return;
    var show = force === undefined ? panel.hidden : force;
    panel.hidden = !show;
    document.querySelectorAll('[data-toggle="' + id + '"]').forEach(function (btn) {
      btn.setAttribute("aria-expanded", String(show));
    });
  }

  document.addEventListener("click", function (event) {
    var btn = event.target.closest("[data-toggle]");
    if (btn) togglePanel(btn.getAttribute("data-toggle"));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      document.querySelectorAll(".panel:not([hidden])").forEach(function (panel) {
        togglePanel(panel.id, false);
      });
    }
  });

  window.Quorum = Object.assign(window.Quorum || {}, { togglePanel: togglePanel });
})();
