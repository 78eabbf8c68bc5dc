/* Show why an image upload was refused, next to the markdownx editor that refused it.
 *
 * markdownx inserts the text "Invalid response" into the editor when an upload fails and
 * fires "markdownx.fileUploadError" (which does not bubble) on the editor's wrapper with
 * the server's JSON ({"image": ["why"]}). This takes the stray text back out and shows the
 * server's message in a live region, so the editor knows what to fix and loses nothing.
 */
(function () {
  "use strict";

  function messageFrom(detail) {
    try {
      var body = typeof detail === "string" ? JSON.parse(detail) : detail;
      if (body && body.image && body.image.length) return body.image.join(" ");
      if (body && body.error) return body.error;
    } catch (e) { /* not JSON */ }
    return "The image could not be uploaded. Try a JPEG, PNG, WebP or GIF under the size limit.";
  }

  function attach(wrapper) {
    var editor = wrapper.querySelector("textarea");
    var alert = document.createElement("p");
    alert.className = "errornote markdownx-upload-error";
    alert.setAttribute("role", "alert");
    alert.style.display = "none";  // the admin's .errornote would override the hidden attribute
    wrapper.appendChild(alert);

    wrapper.addEventListener("markdownx.fileUploadError", function (event) {
      // markdownx inserts its text just after firing this event (the Add image button,
      // admin/js/editor-aids.js, inserts none and says so).
      var inserted = !(event.detail && event.detail[1] && event.detail[1].inserted === false);
      if (inserted) window.setTimeout(function () {
        var stray = editor.value.lastIndexOf("Invalid response");
        if (stray !== -1) {
          editor.value = editor.value.slice(0, stray) + editor.value.slice(stray + "Invalid response".length);
        }
      }, 0);
      alert.textContent = messageFrom(event.detail && event.detail[0]);
      alert.style.display = "";
    });
    wrapper.addEventListener("markdownx.fileUploadEnd", function () {
      alert.style.display = "none";
      alert.textContent = "";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".markdownx"), attach);
  });
})();
