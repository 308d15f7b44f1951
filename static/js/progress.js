// Keeps a campaign's sending progress current without a reload: polls the JSON figures every
// two seconds while anything is still on its way, and stops when everything is settled.
(function () {
  "use strict";
  var section = document.querySelector("[data-progress-url]");
  if (!section) { return; }
  var url = section.getAttribute("data-progress-url");
  var delay = 2000;

  function set(selector, value) {
    var el = section.querySelector(selector);
    if (el) { el.textContent = String(value); }
  }

  function update(data) {
    var bar = section.querySelector("[data-progress-bar]");
    if (bar) { bar.value = data.percent; }
    set("[data-progress-percent]", data.percent + " %");
    set("[data-progress-done]", data.done);
    set("[data-progress-total]", data.total);
    Object.keys(data.counts).forEach(function (state) {
      set('[data-count="' + state + '"]', data.counts[state]);
    });
    var busy = (data.counts.queued || 0) + (data.counts.sending || 0);
    // Only retries left: they wait minutes to hours, so look less often.
    delay = busy > 0 ? 2000 : 30000;
    var open = busy + (data.counts.retrying || 0);
    return data.started && open > 0 && !data.paused && !data.cancelled;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && update(data)) { window.setTimeout(poll, delay); }
      })
      .catch(function () { window.setTimeout(poll, delay * 5); });
  }

  window.setTimeout(poll, delay);
})();
