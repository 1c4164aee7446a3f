// The export form offers only the formats the chosen shape comes in (each shape
// option lists them in data-formats); the server checks again.
(function () {
  "use strict";

  function offerFormats() {
    var shape = document.getElementById("id_shape");
    var format = document.getElementById("id_format");
    if (!shape || !format) return;
    var offered = (shape.selectedOptions[0].dataset.formats || "").split(" ");
    var first = null;
    Array.prototype.forEach.call(format.options, function (option) {
      option.disabled = offered.indexOf(option.value) < 0;
      if (!option.disabled && first === null) first = option;
    });
    if (format.selectedOptions[0].disabled && first) first.selected = true;
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "id_shape") offerFormats();
  });
  document.addEventListener("DOMContentLoaded", offerFormats);
})();
