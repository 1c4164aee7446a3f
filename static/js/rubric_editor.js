// Rubric editor: keep the criterion cards in the order the server now has after a move,
// flag cards with unsaved edits, and let the preview answer to number keys like the
// grading page does. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  function card(el) { return el.closest ? el.closest(".criterion-card") : null; }

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (!event.detail.successful || !elt || !elt.hasAttribute("data-move")) return;
    var c = card(elt);
    if (!c) return;
    if (elt.getAttribute("data-move") === "up" && c.previousElementSibling) {
      c.parentNode.insertBefore(c, c.previousElementSibling);
    } else if (elt.getAttribute("data-move") === "down" && c.nextElementSibling) {
      c.parentNode.insertBefore(c.nextElementSibling, c);
    }
    elt.focus();
  });

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest(".criterion-form");
    var c = form ? card(form) : null;
    if (!c || c.classList.contains("dirty")) return;
    c.classList.add("dirty");
    var saved = c.querySelector(".saved");
    if (saved) saved.remove();
    var note = document.createElement("span");
    note.className = "dirty-note";
    note.textContent = "Not saved yet";
    c.querySelector(".criterion-title").after(note);
  });

  document.addEventListener("htmx:afterSwap", function () {
    var empty = document.getElementById("no-criteria");
    if (empty && document.querySelector("#criteria .criterion-card")) empty.remove();
  });

  document.addEventListener("keydown", function (event) {
    if (!/^[1-9]$/.test(event.key) || event.ctrlKey || event.altKey || event.metaKey) return;
    var active = document.activeElement;
    var fieldset = active && active.closest ? active.closest("[data-preview] fieldset.criterion") : null;
    if (!fieldset) return;
    var radio = fieldset.querySelector('input[type=radio][data-key="' + event.key + '"]');
    if (radio) {
      event.preventDefault();
      radio.checked = true;
    }
  });
})();
