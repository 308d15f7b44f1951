/* Copy buttons: a button with data-copy-target="<id>" copies that element's text (or an
 * input's value) to the clipboard and announces "Copied" in the page's live region.
 *
 * Progressive enhancement only: the buttons are rendered hidden and shown here, once we know
 * copying can work. Without this file the text is still there to select and copy by hand.
 */
(function () {
  "use strict";

  var status = document.getElementById("copy-status");
  var canWrite = !!(navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext);
  var canExec = !!(document.queryCommandSupported && document.queryCommandSupported("copy"));
  if (!canWrite && !canExec) {
    return;
  }
  var CLEAR_AFTER_MS = 4000;
  var timer = null;

  function textOf(target) {
    if (target.tagName === "INPUT" || target.tagName === "TEXTAREA") {
      return target.value;
    }
    return target.textContent;
  }

  function announce(message) {
    if (!status || !message) {
      return;
    }
    // Empty first, so the same message is read out again on a second copy.
    status.textContent = "";
    window.clearTimeout(timer);
    window.setTimeout(function () {
      status.textContent = message;
    }, 50);
    timer = window.setTimeout(function () {
      status.textContent = "";
    }, CLEAR_AFTER_MS);
  }

  // The old way, for browsers (or plain-http sites) without the asynchronous clipboard.
  function copyBySelection(text) {
    var scratch = document.createElement("textarea");
    scratch.value = text;
    scratch.setAttribute("readonly", "");
    scratch.className = "visually-hidden";
    document.body.appendChild(scratch);
    scratch.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    document.body.removeChild(scratch);
    return done;
  }

  function copied(button) {
    button.classList.add("copied");
    window.setTimeout(function () {
      button.classList.remove("copied");
    }, CLEAR_AFTER_MS);
    announce(status && status.getAttribute("data-copied"));
  }

  function failed(target) {
    announce(status && status.getAttribute("data-failed"));
    // Select the text, so that copying by hand is one key press away.
    if (target.select) {
      target.select();
    } else if (window.getSelection && document.createRange) {
      var range = document.createRange();
      range.selectNodeContents(target);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
    }
  }

  function copy(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) {
      return;
    }
    var text = textOf(target);
    if (canWrite) {
      navigator.clipboard.writeText(text).then(
        function () {
          copied(button);
        },
        function () {
          if (canExec && copyBySelection(text)) {
            copied(button);
          } else {
            failed(target);
          }
        }
      );
    } else if (copyBySelection(text)) {
      copied(button);
    } else {
      failed(target);
    }
  }

  var buttons = document.querySelectorAll("button[data-copy-target]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function (event) {
      copy(event.currentTarget);
    });
  }
})();
