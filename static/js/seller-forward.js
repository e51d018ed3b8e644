/* The one-tap forward. The tap itself (a user activation, which clipboard and share need)
   copies the text with the seller's link, then shares the card files through the Web Share
   API where the browser can; otherwise the sheet offers the ZIP and the long-press hint.
   Card files are fetched ahead of the tap: a fetch inside it would use up the activation on
   iOS/WeChat before share() is called. */
(function () {
  "use strict";
  var S = window.Sucai;
  var dataNode = document.getElementById("forward-data");
  if (!dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var button = document.getElementById("forward-button");
  var sheet = document.getElementById("forward-sheet");
  var backdrop = document.getElementById("sheet-backdrop");
  var status = document.getElementById("copy-status");
  var shareButton = document.getElementById("share-files");
  var files = null;

  // ------------------------------------------------------------ clipboard

  function copyWithTextarea(text) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.className = "offscreen";
    document.body.appendChild(ta);
    ta.select();
    ta.setSelectionRange(0, text.length); // iOS needs an explicit range
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(ta);
    return ok;
  }

  /* Resolves true when the text is on the clipboard. Must start inside the tap. */
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyWithTextarea(text); }
      );
    }
    return Promise.resolve(copyWithTextarea(text));
  }

  function showCopied(ok) {
    status.textContent = ok ? "✓ 文案已复制（含你的专属链接）" : "没能自动复制，请手动复制";
    document.getElementById("copy-sub").textContent = ok
      ? "去微信群或朋友圈长按输入框「粘贴」即可"
      : "长按下面的文字，选择「全选」再「复制」";
    status.className = "step-title " + (ok ? "ok" : "warn");
  }

  // ------------------------------------------------------------ share files

  function canShareFiles(list) {
    try { return !!(navigator.canShare && navigator.share && navigator.canShare({ files: list })); }
    catch (e) { return false; }
  }

  function prefetch() {
    if (!navigator.canShare || !window.File || !data.cards.length) return;
    var probe = [new File([new Blob(["x"], { type: "image/jpeg" })], "probe.jpg", { type: "image/jpeg" })];
    if (!canShareFiles(probe)) return;
    Promise.all(data.cards.map(function (url, i) {
      return fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error("card " + r.status);
        return r.blob();
      }).then(function (blob) {
        return new File([blob], "sucai-" + (i + 1) + ".jpg", { type: "image/jpeg" });
      });
    })).then(function (list) {
      if (canShareFiles(list)) { files = list; shareButton.hidden = false; }
    }, function () { files = null; });
  }

  function shareFiles() {
    if (!files) return Promise.resolve(false);
    return navigator.share({ files: files, title: document.title }).then(
      function () { return true; },
      function () { return false; } // cancelled, or not allowed: the sheet still offers the rest
    );
  }

  // ------------------------------------------------------------ sheet

  var lastFocus = null;
  function openSheet() {
    lastFocus = document.activeElement;
    sheet.hidden = false;
    backdrop.hidden = false;
    document.body.classList.add("sheet-open");
    document.getElementById("sheet-title").focus();
  }
  function closeSheet() {
    sheet.hidden = true;
    backdrop.hidden = true;
    document.body.classList.remove("sheet-open");
    if (lastFocus) lastFocus.focus();
  }
  document.getElementById("sheet-title").setAttribute("tabindex", "-1");
  document.getElementById("sheet-close").addEventListener("click", closeSheet);
  backdrop.addEventListener("click", closeSheet);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && !sheet.hidden) closeSheet(); });

  function record() { // counts the forward (issue 3's API); the page works without it
    if (button.dataset.forwardUrl) S.api("GET", button.dataset.forwardUrl).catch(function () {});
  }

  button.addEventListener("click", function () {
    var copying = copy(data.text);          // 1. inside the tap
    var sharing = files ? shareFiles() : null; // 2. same tap: share() needs the activation too
    status.textContent = "正在复制文案…";
    openSheet();
    copying.then(showCopied);
    if (sharing) sharing.then(function () {});
    record();
  });
  document.getElementById("copy-again").addEventListener("click", function () {
    copy(data.text).then(showCopied);
  });
  shareButton.addEventListener("click", shareFiles);

  // ------------------------------------------------------------ favorite

  var favForm = document.getElementById("fav-form");
  favForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var fav = document.getElementById("fav-button");
    fetch(favForm.action, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": S.csrf(), Accept: "application/json" }
    }).then(function (r) { return r.ok ? r.json() : Promise.reject(r); }).then(function (d) {
      fav.classList.toggle("on", d.favorite);
      fav.setAttribute("aria-pressed", d.favorite ? "true" : "false");
      document.getElementById("fav-label").textContent = d.favorite ? "已收藏" : "收藏";
    }, function () { favForm.submit(); });
  });

  if (document.readyState === "complete") prefetch();
  else window.addEventListener("load", prefetch);
})();
