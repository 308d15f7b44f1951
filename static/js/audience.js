/* Audience builder: refresh the result in place while the officer picks.
 *
 * Progressive enhancement only. Without this file the form is a plain GET form and the
 * "Show audience" button loads the same result as a new page. With it, a change (debounced)
 * fetches that same page and swaps in the parts marked data-swap, so focus stays where it is
 * and the live summary is read out. The address bar follows, so the URL stays shareable.
 */
(function () {
  "use strict";

  var form = document.getElementById("audience-builder");
  if (!form || !window.fetch || !window.DOMParser || !window.URLSearchParams || !window.FormData) {
    return;
  }
  var DELAY_MS = 350;
  var timer = null;
  var controller = null;
  var sequence = 0;
  var result = document.getElementById("audience-result");

  function address() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      params.append(name, value);
    });
    return form.getAttribute("action").split("?")[0] + "?" + params.toString();
  }

  function copyAttribute(from, to, name) {
    if (from.hasAttribute(name)) {
      to.setAttribute(name, from.getAttribute(name));
    } else {
      to.removeAttribute(name);
    }
  }

  // Returns false when the response is not the builder (e.g. the sign-in page after the
  // session ended); the caller then falls back to an ordinary page load.
  function swap(doc) {
    var regions = document.querySelectorAll("[data-swap]");
    var fresh = [];
    var i;
    for (i = 0; i < regions.length; i++) {
      fresh.push(doc.getElementById(regions[i].id));
      if (!fresh[i]) {
        return false;
      }
    }
    for (i = 0; i < regions.length; i++) {
      if (regions[i].innerHTML !== fresh[i].innerHTML) {
        regions[i].innerHTML = fresh[i].innerHTML;
      }
    }
    var fields = form.querySelectorAll("input[id], select[id], textarea[id]");
    for (i = 0; i < fields.length; i++) {
      var twin = doc.getElementById(fields[i].id);
      if (twin) {
        copyAttribute(twin, fields[i], "aria-invalid");
        copyAttribute(twin, fields[i], "aria-describedby");
      }
    }
    var save = document.getElementById("audience-save");
    var freshSave = doc.getElementById("audience-save");
    if (save && freshSave) {
      save.hidden = freshSave.hidden;
    }
    return true;
  }

  function refresh() {
    var url = address();
    var mine = ++sequence;
    if (controller) {
      controller.abort();
    }
    controller = window.AbortController ? new AbortController() : null;
    if (result) {
      result.setAttribute("aria-busy", "true");
    }
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) {
        return response.text();
      })
      .then(function (html) {
        if (mine !== sequence) {
          return;
        }
        var doc = new DOMParser().parseFromString(html, "text/html");
        if (!swap(doc)) {
          form.submit();
          return;
        }
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", url);
        }
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") {
          return;
        }
        form.submit(); // the network or the server failed: let the browser show it
      })
      .then(function () {
        if (mine === sequence && result) {
          result.removeAttribute("aria-busy");
        }
      });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DELAY_MS);
  }

  form.addEventListener("change", schedule);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.clearTimeout(timer);
    refresh();
  });
})();
