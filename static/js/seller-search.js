/* Seller search: asks /api/v1/search (Chinese, pinyin and initials, relevance, facets) and
   renders the hits with DOM calls: titles keep only the server's <mark> highlights.
   Without the search service the form falls back to the page's own database search. */
(function () {
  "use strict";
  var S = window.Sucai, el = S.el;
  var form = document.getElementById("search-form");
  if (!form) return;
  var input = document.getElementById("search-q");
  var results = document.getElementById("search-results");
  var counter = document.getElementById("search-count");
  var facetBox = document.getElementById("facets");
  var tags = [];
  var state = { page: 1, total: 0, perPage: 20, loading: false, seq: 0 };
  var observer = null;

  function params(page) {
    var p = new URLSearchParams();
    p.set("q", input.value.trim());
    p.set("sort", form.elements.sort.value);
    if (form.elements.category.value) p.set("category", form.elements.category.value);
    tags.forEach(function (t) { p.append("tag", t); });
    p.set("page", String(page));
    p.set("per_page", String(state.perPage));
    return p;
  }

  function hasQuery() {
    return input.value.trim() || form.elements.category.value || tags.length;
  }

  function item(hit) {
    var title = el("span", { class: "item-title highlight" });
    title.appendChild(S.highlighted(hit.highlight && hit.highlight.title ? hit.highlight.title : ""));
    if (!title.textContent) title.textContent = hit.title;
    var media = el("span", { class: "item-media" }, [
      hit.thumbnail ? el("img", { class: "item-thumb", src: hit.thumbnail, alt: "", loading: "lazy" })
        : el("span", { class: "item-thumb thumb-empty", text: "无图" })
    ]);
    if (hit.has_video) media.appendChild(el("span", { class: "item-video", "aria-label": "含视频", text: "▶" }));
    var price = el("span", { class: "price" }, [el("span", { class: "price-yen", text: "¥" }), String(hit.price || "").replace(/\.00$/, "")]);
    var fwd = el("span", { class: "item-fwd", text: hit.forward_count ? "已转 " + hit.forward_count : "" });
    var foot = [price, fwd];
    if (hit.ratings) foot.push(el("span", { class: "item-wom", text: "口碑 " + Number(hit.index).toFixed(1) }));
    var parts = [media, title];
    if (hit.author) parts.push(el("span", { class: "item-author", text: "作者 " + hit.author }));
    parts.push(el("span", { class: "item-foot" }, foot));
    return el("li", { class: "item" }, [
      el("a", { class: "item-link", href: "/h5/m/" + encodeURIComponent(hit.id) }, parts)
    ]);
  }

  function emptyState() {
    var tpl = document.getElementById("empty-template");
    return document.importNode(tpl.content, true);
  }

  function renderFacets(facets) {
    facetBox.textContent = "";
    var list = (facets && facets.tags) || [];
    var shown = list.slice(0, 10);
    tags.forEach(function (t) { if (!shown.some(function (f) { return f.value === t; })) shown.unshift({ value: t, count: 0 }); });
    shown.forEach(function (f) {
      var on = tags.indexOf(f.value) >= 0;
      var chip = el("button", { type: "button", class: "chip", "aria-pressed": on ? "true" : "false", text: "#" + f.value + (f.count ? " " + f.count : "") });
      chip.addEventListener("click", function () {
        if (on) tags.splice(tags.indexOf(f.value), 1); else tags.push(f.value);
        run(1);
      });
      facetBox.appendChild(chip);
    });
    facetBox.hidden = !shown.length;
  }

  function render(data, page) {
    state.page = page; state.total = data.total;
    var list = results.querySelector("ol.items");
    if (page === 1) {
      results.textContent = "";
      counter.textContent = data.total ? "找到 " + data.total + " 个素材" : "";
      renderFacets(data.facets);
      if (!data.items.length) { results.appendChild(emptyState()); return; }
      list = el("ol", { class: "items", id: "items" });
      results.appendChild(list);
      results.appendChild(el("p", { class: "more", id: "api-more" }, [el("span", { class: "muted", text: "加载中…" })]));
    }
    data.items.forEach(function (hit) { list.appendChild(item(hit)); });
    var more = document.getElementById("api-more");
    var done = page * data.per_page >= data.total || !data.items.length;
    if (more) more.hidden = done;
    if (done && observer) observer.disconnect();
    if (!done && more && "IntersectionObserver" in window) {
      if (observer) observer.disconnect();
      observer = new IntersectionObserver(function (en) {
        if (en.some(function (e) { return e.isIntersecting; })) run(state.page + 1);
      }, { rootMargin: "400px 0px" });
      observer.observe(more);
    }
  }

  /* Resolves false when the search service is not there (the caller falls back). */
  function run(page) {
    if (!hasQuery()) return Promise.resolve(true);
    if (page > 1 && state.loading) return Promise.resolve(true);
    var seq = ++state.seq;
    state.loading = true;
    var p = params(page);
    if (page === 1) {
      var shown = new URLSearchParams(p); shown.delete("page"); shown.delete("per_page");
      history.replaceState(null, "", "?" + shown.toString());
    }
    return S.api("GET", "/api/v1/search?" + p.toString()).then(function (data) {
      state.loading = false;
      if (seq === state.seq || page > 1) render(data, page);
      return true;
    }, function (err) {
      state.loading = false;
      return err.status === 422; // a bad filter is ours to show, not a missing service
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    input.blur(); // closes the phone keyboard
    run(1).then(function (ok) { if (!ok) { tags = []; form.submit(); } });
  });
  ["sort", "category"].forEach(function (name) {
    form.elements[name].addEventListener("change", function () {
      run(1).then(function (ok) { if (!ok) form.submit(); });
    });
  });
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { if (input.value.trim()) run(1); }, 350);
  });

  // Arrived with a query (a shared link, or back from a material): upgrade the results.
  if (hasQuery()) run(1);
  else input.focus();
})();
