/* Aids beside the article editor (conditions/admin.py): reading grade and word counts that
 * follow the live preview, and an "Add image" button for keyboards and phones.
 *
 * Reading grade: after markdownx refreshes a section's preview ("markdownx.update"), the
 * form's section fields are posted to the readability endpoint (the numbers come from
 * conditions/readability.py, the same as the content checks), and each section's note and
 * the whole article's are replaced. Without JavaScript the notes show the grade of the text
 * as it was loaded.
 *
 * Add image: a button that opens the file picker and uploads the chosen file to the same
 * endpoint as drag-and-drop (the textarea's data-markdownx-upload-urls-path), then inserts
 * ![…](url) at the cursor with the alt-text placeholder selected, to be typed over. A
 * refused file shows the server's message through markdownx's own error event.
 */
(function () {
  "use strict";

  var ALT_PLACEHOLDER = "Describe the image for someone who cannot see it";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function sectionEditors(form) {
    return Array.prototype.filter.call(form.querySelectorAll(".markdownx textarea"), function (editor) {
      return editor.name.indexOf("section_") === 0;
    });
  }

  function setupReadability(form, box) {
    var url = box.getAttribute("data-url"), timer = null, pending = null;

    function refresh() {
      var data = new FormData();
      sectionEditors(form).forEach(function (editor) { data.append(editor.name, editor.value); });
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(url, {method: "POST", body: data, credentials: "same-origin", signal: pending.signal,
                  headers: {"X-CSRFToken": csrfToken(form), "X-Requested-With": "XMLHttpRequest"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (!body) return;
          Object.keys(body.sections).forEach(function (name) {
            var help = document.getElementById("id_" + name + "_helptext");
            if (help) help.innerHTML = body.sections[name].note;
          });
          box.innerHTML = "<strong>Whole article:</strong> " + body.article.note;
        })
        .catch(function () { /* aborted by a newer refresh, or offline: the last figures stay */ });
    }

    Array.prototype.forEach.call(form.querySelectorAll(".markdownx"), function (wrapper) {
      wrapper.addEventListener("markdownx.update", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, 150);
      });
    });
  }

  function insertAtCursor(editor, before, selected, after) {
    var start = editor.selectionStart, end = editor.selectionEnd;
    editor.value = editor.value.slice(0, start) + before + selected + after + editor.value.slice(end);
    editor.focus();
    editor.setSelectionRange(start + before.length, start + before.length + selected.length);
    editor.dispatchEvent(new Event("input", {bubbles: true}));  // markdownx refreshes the preview
  }

  function setupAddImage(form, wrapper) {
    var editor = wrapper.querySelector("textarea");
    var uploadUrl = editor && editor.getAttribute("data-markdownx-upload-urls-path");
    if (!uploadUrl) return;
    var picker = document.createElement("input");
    picker.type = "file";
    picker.accept = "image/jpeg,image/png,image/webp,image/gif";
    picker.hidden = true;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button add-image";
    button.textContent = "Add image";
    button.setAttribute("aria-describedby", editor.id + "_addimage_help");
    var help = document.createElement("span");
    help.id = editor.id + "_addimage_help";
    help.className = "add-image-help";
    help.textContent = " JPEG, PNG, WebP or GIF; or drag a file onto the text.";
    var bar = document.createElement("p");
    bar.className = "add-image-bar";
    bar.appendChild(button);
    bar.appendChild(help);
    bar.appendChild(picker);
    wrapper.parentNode.insertBefore(bar, wrapper);

    button.addEventListener("click", function () { picker.click(); });
    picker.addEventListener("change", function () {
      if (!picker.files.length) return;
      var data = new FormData();
      data.append("image", picker.files[0]);
      picker.value = "";
      button.disabled = true;
      button.textContent = "Uploading…";
      fetch(uploadUrl, {method: "POST", body: data, credentials: "same-origin",
                        headers: {"X-CSRFToken": csrfToken(form), "X-Requested-With": "XMLHttpRequest"}})
        .then(function (response) {
          return response.text().then(function (text) { return {ok: response.ok, text: text}; });
        })
        .then(function (answer) {
          var body = null;
          try { body = JSON.parse(answer.text); } catch (e) { /* not JSON: an error page */ }
          if (answer.ok && body && body.url) {
            wrapper.dispatchEvent(new CustomEvent("markdownx.fileUploadEnd", {detail: [body]}));
            insertAtCursor(editor, "\n\n![", ALT_PLACEHOLDER, "](" + body.url + ")\n\n");
          } else {
            wrapper.dispatchEvent(new CustomEvent("markdownx.fileUploadError", {detail: [body || answer.text, {inserted: false}]}));
          }
        })
        .catch(function () {
          wrapper.dispatchEvent(new CustomEvent("markdownx.fileUploadError", {detail: [{image: ["The upload did not reach the server: check the connection and retry."]}, {inserted: false}]}));
        })
        .then(function () {
          button.disabled = false;
          button.textContent = "Add image";
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("article_form");
    if (!form) return;
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();  // a failed save: read out what to fix first
    var box = document.getElementById("readability-article");
    if (box) setupReadability(form, box);
    Array.prototype.forEach.call(form.querySelectorAll(".markdownx"), function (wrapper) { setupAddImage(form, wrapper); });
  });
})();
