/* A film's processing on the composer, followed without a reload.
 *
 * Progressive enhancement only: each box marked data-processing-url (a film still waiting or in
 * progress) asks the material's JSON every two seconds and shows its state in words the page
 * carries (data-text-<state>), until it is done or has failed. Without this file the officer
 * reloads the page to see the state.
 */
(function () {
  "use strict";

  if (!window.fetch || !document.querySelectorAll) {
    return;
  }
  var DELAY_MS = 2000;
  var boxes = document.querySelectorAll("[data-processing-url]");

  function follow(box) {
    var url = box.getAttribute("data-processing-url");
    var status = box.querySelector("[data-processing-status]");

    function show(state) {
      var text = box.getAttribute("data-text-" + state);
      if (!text || !status) {
        return;
      }
      box.className = "composer-processing composer-processing-" + state;
      if (status.textContent !== text) {
        status.textContent = text;
      }
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (data) {
          if (!data) {
            window.setTimeout(poll, DELAY_MS * 5);
            return;
          }
          show(data.processing_status);
          if (data.processing_status === "pending" || data.processing_status === "running") {
            window.setTimeout(poll, DELAY_MS);
          }
        })
        .catch(function () {
          window.setTimeout(poll, DELAY_MS * 5);
        });
    }

    window.setTimeout(poll, DELAY_MS);
  }

  for (var i = 0; i < boxes.length; i++) {
    follow(boxes[i]);
  }
})();
