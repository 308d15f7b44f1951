/* The print page's "Print" button; without JavaScript the browser's own command does it. */
(function () {
  "use strict";
  var button = document.querySelector(".print-button");
  if (!button || !window.print) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
})();
