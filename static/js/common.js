/* Shared helpers for the pages. No dependencies; works in WeChat's in-app browser. */
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* fetch with the session cookie and, for anything but GET, the CSRF token. */
  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf();
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      var parsed = type.indexOf("json") >= 0 ? resp.json() : Promise.resolve(null);
      return parsed.then(function (data) {
        if (!resp.ok) {
          var err = new Error((data && data.detail) || "请求失败（" + resp.status + "）");
          err.status = resp.status;
          err.problem = data;
          throw err;
        }
        return data;
      });
    });
  }

  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(0) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  /* Build an element: el("p", {class: "x"}, ["text", child]). Text is never parsed as HTML. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  /* Server snippets are escaped HTML with <mark> highlights. Rebuild them from text and
     <mark> only, so nothing else can ever become markup here. */
  function highlighted(html) {
    var frag = document.createDocumentFragment();
    var doc = new DOMParser().parseFromString("<body>" + (html || ""), "text/html");
    (function walk(node, into) {
      Array.prototype.forEach.call(node.childNodes, function (child) {
        if (child.nodeType === 3) into.appendChild(document.createTextNode(child.nodeValue));
        else if (child.nodeType === 1) {
          var target = into;
          if (child.tagName === "MARK") { target = document.createElement("mark"); into.appendChild(target); }
          walk(child, target);
        }
      });
    })(doc.body, frag);
    return frag;
  }

  window.Sucai = { csrf: csrf, api: api, bytes: bytes, el: el, highlighted: highlighted };
})();
