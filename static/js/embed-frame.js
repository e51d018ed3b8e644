/* Inside the widget iframe: tell the embedding page how tall we are. The height is not a
   secret, so any parent may read it ("*"); embed.js checks that it came from us. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function post() {
    var h = Math.ceil(document.getElementById("widget").getBoundingClientRect().height);
    if (h && h !== last) {
      last = h;
      window.parent.postMessage({ type: "sucai:height", height: h }, "*");
    }
  }
  if ("ResizeObserver" in window) new ResizeObserver(post).observe(document.getElementById("widget"));
  Array.prototype.forEach.call(document.images, function (img) { img.addEventListener("load", post); });
  window.addEventListener("load", post);
  window.addEventListener("resize", post);
  post();
})();
