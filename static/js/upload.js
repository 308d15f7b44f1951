/* Upload forms of the composer: send the file with a progress bar.
 *
 * Progressive enhancement only. Without this file a form marked data-upload is an ordinary
 * multipart POST answered with a redirect (or the composer with the error). With it, the form
 * is sent with XMLHttpRequest and the header X-Requested-With, so the server answers JSON:
 * {"redirect": url} on success (we go there), or the problem ({"detail", "errors"}) on
 * failure (shown beside the field, and the form can be sent again).
 */
(function () {
  "use strict";

  if (!window.XMLHttpRequest || !window.FormData || !document.querySelectorAll) {
    return;
  }
  var forms = document.querySelectorAll("form[data-upload]");

  function parse(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  // Go to the page the server names. A second upload names the very page we are on (with the
  // same #fragment): assigning it would only scroll, so reload it to show the new file.
  function go(url) {
    var here = window.location.href.split("#")[0];
    var next = new URL(url, window.location.href);
    if (next.href.split("#")[0] === here) {
      if (next.hash !== window.location.hash) {
        window.location.hash = next.hash;
      }
      window.location.reload();
    } else {
      window.location.assign(next.href);
    }
  }

  function enhance(form) {
    var button = form.querySelector("button[type=submit]");
    var box = form.querySelector("[data-upload-progress]");
    var bar = box ? box.querySelector("progress") : null;
    var status = form.querySelector("[data-upload-status]");
    var progressText = form.getAttribute("data-text-progress") || "{percent} %";
    var failedText = form.getAttribute("data-text-failed") || "The upload failed.";
    var busy = false;

    function field(name) {
      return form.querySelector("[data-field='" + name + "']");
    }

    function errorBox(name) {
      return form.querySelector("[data-error-for='" + name + "']");
    }

    function describe(input, errorId, on) {
      var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
        return id && id !== errorId;
      });
      if (on) {
        ids.push(errorId);
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
      if (ids.length) {
        input.setAttribute("aria-describedby", ids.join(" "));
      } else {
        input.removeAttribute("aria-describedby");
      }
    }

    function clearErrors() {
      ["language", "file"].forEach(function (name) {
        var box = errorBox(name);
        var input = field(name);
        if (box) {
          box.textContent = "";
          box.hidden = true;
          if (input) {
            describe(input, box.id, false);
          }
        }
      });
    }

    function showError(name, message) {
      var target = errorBox(name) || errorBox("file");
      var input = field(name) || field("file");
      if (!target) {
        window.alert(message);
        return;
      }
      target.textContent = message;
      target.hidden = false;
      if (input) {
        describe(input, target.id, true);
        input.focus();
      }
    }

    function setProgress(percent) {
      if (bar) {
        bar.value = percent;
      }
      if (status) {
        status.textContent = progressText.replace("{percent}", String(percent));
      }
    }

    function finish() {
      busy = false;
      form.removeAttribute("aria-busy");
      if (button) {
        button.disabled = false;
      }
      if (box) {
        box.hidden = true;
      }
    }

    function failed(body) {
      finish();
      var shown = false;
      if (body && body.errors && body.errors.length) {
        for (var i = 0; i < body.errors.length; i++) {
          showError(body.errors[i].field === "language" ? "language" : "file", body.errors[i].message);
          shown = true;
        }
      }
      if (!shown) {
        showError("file", (body && body.detail) || failedText);
      }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) {
        return;
      }
      busy = true;
      clearErrors();
      var data = new FormData(form);
      var xhr = new XMLHttpRequest();
      var shownStep = -1;
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable || !e.total) {
          return;
        }
        var percent = Math.floor((e.loaded / e.total) * 100);
        if (bar) {
          bar.value = percent;
        }
        // The live text changes in steps, so that a screen reader is not flooded.
        var step = Math.floor(percent / 10);
        if (step !== shownStep) {
          shownStep = step;
          setProgress(percent);
        }
      });
      xhr.addEventListener("load", function () {
        var body = parse(xhr.responseText);
        if (xhr.status >= 200 && xhr.status < 300 && body && body.redirect) {
          setProgress(100);
          go(body.redirect);
          return;
        }
        failed(body);
      });
      xhr.addEventListener("error", function () {
        failed(null);
      });
      xhr.addEventListener("abort", function () {
        failed(null);
      });
      form.setAttribute("aria-busy", "true");
      if (button) {
        button.disabled = true;
      }
      if (box) {
        box.hidden = false;
      }
      setProgress(0);
      xhr.send(data);
    });
  }

  for (var i = 0; i < forms.length; i++) {
    enhance(forms[i]);
  }
})();
