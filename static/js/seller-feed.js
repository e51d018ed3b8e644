/* Infinite scroll for item grids: when the "load more" sentinel comes into view, fetch the
   next page as server-rendered items (fragment=1) and append them. The link still works
   without JavaScript. */
(function () {
  "use strict";

  function bind(root) {
    var list = root.querySelector("[data-infinite]");
    var more = root.querySelector("#more"), end = root.querySelector("#end");
    if (!list || !more) return;
    var loading = false, observer = null;

    function nextUrl() {
      var slot = list.querySelector(".more-slot");
      return slot ? slot.getAttribute("data-next") : null;
    }

    function done() {
      more.hidden = true;
      if (end) end.hidden = false;
      if (observer) observer.disconnect();
    }

    function load() {
      var url = nextUrl();
      if (!url) return done();
      if (loading) return;
      loading = true;
      more.classList.add("loading");
      fetch(url + (url.indexOf("?") >= 0 ? "&" : "?") + "fragment=1", { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString("<ol>" + html + "</ol>", "text/html");
          var old = list.querySelector(".more-slot");
          if (old) old.parentNode.removeChild(old);
          Array.prototype.forEach.call(doc.querySelectorAll("ol > li"), function (li) {
            list.appendChild(document.importNode(li, true));
          });
          var next = nextUrl();
          if (!next) done();
          else root.querySelector("#more-link").href = next;
        })
        .catch(function () { /* keep the link: a tap retries */ })
        .then(function () { loading = false; more.classList.remove("loading"); });
    }

    root.querySelector("#more-link").addEventListener("click", function (e) { e.preventDefault(); load(); });
    if (!nextUrl()) return;
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(function (entries) {
        if (entries.some(function (en) { return en.isIntersecting; })) load();
      }, { rootMargin: "400px 0px" });
      observer.observe(more);
    }
  }

  window.SucaiFeed = { bind: bind };
  bind(document);
})();
