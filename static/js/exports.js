// The export form offers only the formats the chosen shape comes in (each shape
// option lists them in data-formats); the server checks again.
(function () {
  "use strict";

  function offerFormats() {
    var shape = document.getElementById("id_shape");
    var format = document.getElementById("id_format");
    if (!shape || !format) return;
    if (!shape.selectedOptions.length) return;
    var offered = (shape.selectedOptions[0].dataset.formats || "").split(" ");
    var first = null;
    Array.prototype.forEach.call(format.options, function (option) {
      option.disabled = offered.indexOf(option.value) < 0;
      if (!option.disabled && first === null) first = option;
    });
    var chosen = format.selectedOptions[0];
    if ((!chosen || chosen.disabled) && first) first.selected = true;
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "id_shape") offerFormats();
  });
  document.addEventListener("DOMContentLoaded", offerFormats);
})();
