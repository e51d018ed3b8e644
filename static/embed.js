/* Sucai embed: turns <div data-sucai-material="ID" data-sucai-ref="CODE"></div> on any page
   into the share-card widget (an iframe from the Sucai origin this script was loaded from),
   and sizes each iframe to its content from the height the widget posts. Messages are only
   believed when they come from that origin and from one of our own iframes. */
(function () {
  "use strict";
  if (window.SucaiEmbed) { window.SucaiEmbed.scan(document); return; }
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src, window.location.href).origin;
  var ID_RE = /^[1-9][0-9]{0,17}$/;
  var CODE_RE = /^[2-9A-HJ-NP-Z]{6,8}$/;
  var frames = [];

  function widget(node) {
    var id = (node.getAttribute("data-sucai-material") || "").trim();
    var ref = (node.getAttribute("data-sucai-ref") || "").trim().toUpperCase();
    if (!ID_RE.test(id)) return;
    var src = origin + "/embed/" + id + (CODE_RE.test(ref) ? "?ref=" + encodeURIComponent(ref) : "");
    var frame = document.createElement("iframe");
    frame.src = src;
    frame.title = "素材卡片";
    frame.setAttribute("loading", "lazy");
    frame.setAttribute("scrolling", "no");
    frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox");
    frame.style.border = "0";
    frame.style.width = "100%";
    frame.style.maxWidth = "360px";
    frame.style.height = "520px";
    frame.style.display = "block";
    frame.style.colorScheme = "normal";
    while (node.firstChild) node.removeChild(node.firstChild);
    node.appendChild(frame);
    node.setAttribute("data-sucai-ready", "");
    frames.push(frame);
  }

  function scan(root) {
    var nodes = (root || document).querySelectorAll("[data-sucai-material]:not([data-sucai-ready])");
    Array.prototype.forEach.call(nodes, widget);
  }

  window.addEventListener("message", function (e) {
    if (e.origin !== origin) return;
    var d = e.data;
    if (!d || d.type !== "sucai:height" || typeof d.height !== "number") return;
    frames.forEach(function (frame) {
      if (frame.contentWindow === e.source) {
        frame.style.height = Math.max(80, Math.min(2000, Math.ceil(d.height))) + "px";
      }
    });
  });

  window.SucaiEmbed = { scan: scan };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { scan(document); });
  else scan(document);
})();
