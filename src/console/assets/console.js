// The console's own script: character counters, drafts kept in the browser,
// and the nominee picker. Pages work without it; it only adds comfort.
(function () {
  "use strict";

  function chars(text) {
    return Array.from(text).length; // code points, as the server counts
  }

  // Counters: <textarea data-max="300" aria-describedby="x-count"> + <span id="x-count" class="counter">.
  function updateCounter(field) {
    var counter = document.getElementById(field.getAttribute("data-counter"));
    if (!counter) return;
    var max = parseInt(field.getAttribute("data-max"), 10);
    var used = chars(field.value);
    counter.textContent = used + " / " + max;
    counter.classList.toggle("over", used > max);
  }

  // Drafts: a form with data-draft="key" keeps what was typed in localStorage
  // until the server says it was saved (data-draft-saved on the form).
  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf" && el.type !== "hidden" && el.type !== "submit" && el.type !== "button";
    });
  }

  function saveDraft(form) {
    var data = {};
    draftFields(form).forEach(function (el) { data[el.name] = el.value; });
    hiddenDraftFields(form).forEach(function (el) { data[el.name] = el.value; });
    try { localStorage.setItem("awards-draft:" + form.getAttribute("data-draft"), JSON.stringify(data)); } catch (e) { /* full or private mode */ }
  }

  // Hidden fields that belong to the draft (the chosen nominee), marked data-draft-field.
  function hiddenDraftFields(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[type=hidden][data-draft-field]"));
  }

  function forget(name) {
    try { localStorage.removeItem("awards-draft:" + name); } catch (e) { /* nothing kept */ }
  }

  function restoreDraft(form) {
    var key = "awards-draft:" + form.getAttribute("data-draft");
    // Drafts the server says are saved now (this one, or the one it came from).
    (form.getAttribute("data-draft-also") || "").split(" ").forEach(function (name) { if (name) forget(name); });
    if (form.hasAttribute("data-draft-saved")) {
      forget(form.getAttribute("data-draft"));
      return;
    }
    var text;
    try { text = localStorage.getItem(key); } catch (e) { return; }
    if (!text) return;
    var data;
    try { data = JSON.parse(text); } catch (e) { return; }
    var restored = false;
    draftFields(form).concat(hiddenDraftFields(form)).forEach(function (el) {
      if (Object.prototype.hasOwnProperty.call(data, el.name) && data[el.name] !== el.value) {
        el.value = data[el.name];
        restored = true;
      }
    });
    var label = form.querySelector("[data-chosen-label]");
    if (label && data["nominee_label"]) label.textContent = data["nominee_label"];
    if (restored) {
      var note = form.querySelector("[data-draft-note]");
      if (note) note.hidden = false;
    }
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (field.hasAttribute && field.hasAttribute("data-max")) updateCounter(field);
    var form = field.form;
    if (form && form.hasAttribute("data-draft")) saveDraft(form);
  });

  // The nominee picker: a click on a found person fills the hidden field.
  document.addEventListener("click", function (event) {
    var choice = event.target.closest ? event.target.closest("[data-pick-id]") : null;
    if (!choice) return;
    event.preventDefault();
    var form = choice.closest("form");
    var id = form.querySelector("input[name=nominee_id]");
    var label = form.querySelector("[data-chosen-label]");
    var labelField = form.querySelector("input[name=nominee_label]");
    id.value = choice.getAttribute("data-pick-id");
    if (labelField) labelField.value = choice.getAttribute("data-pick-label");
    if (label) label.textContent = choice.getAttribute("data-pick-label");
    var list = choice.closest("ul");
    if (list) list.innerHTML = "";
    if (form.hasAttribute("data-draft")) saveDraft(form);
    var next = form.querySelector("#title");
    if (next) next.focus();
  });

  // Signing out leaves nothing typed behind for the next person on this browser.
  document.addEventListener("submit", function (event) {
    if (!event.target.hasAttribute("data-clear-drafts")) return;
    try {
      Object.keys(localStorage).forEach(function (k) { if (k.indexOf("awards-draft:") === 0) localStorage.removeItem(k); });
    } catch (e) { /* nothing kept */ }
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-draft]"), restoreDraft);
    Array.prototype.forEach.call(document.querySelectorAll("[data-max]"), updateCounter);
    var first = document.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  });
})();
