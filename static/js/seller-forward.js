/* The one-tap forward. The tap itself (a user activation, which clipboard and share need)
   copies the text with the seller's link, then shares the card files through the Web Share
   API where the browser can; otherwise the sheet offers the ZIP and the long-press hint.
   Card files are fetched ahead of the tap: a fetch inside it would use up the activation on
   iOS/WeChat before share() is called.

   Inside WeChat (the server saw MicroMessenger and rendered the page as the flow itself: body
   class in-wechat) the tap only copies; the cards are a long-press gallery on the page. Should
   the server not have seen it (a proxy rewrote the User-Agent), the sheet falls back to the
   same: no ZIP, no share button, the long-press hint over full-width cards. */
(function () {
  "use strict";
  var S = window.Sucai;
  var dataNode = document.getElementById("forward-data");
  if (!dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var button = document.getElementById("forward-button");
  var status = document.getElementById("copy-status");
  var wechatPage = document.body.classList.contains("in-wechat");
  var inWechat = wechatPage || /MicroMessenger/i.test(navigator.userAgent);
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
    status.textContent = ok ? "✓ 正文已复制（含你的专属链接）" : "没能自动复制，请手动复制";
    var sub = document.getElementById("copy-sub");
    if (sub) {
      sub.textContent = ok
        ? "去微信群或朋友圈长按输入框「粘贴」即可"
        : "长按下面的文字，选择「全选」再「复制」";
    }
    status.className = status.className.replace(/ ?\b(ok|warn)\b/g, "") + (ok ? " ok" : " warn");
  }

  // ------------------------------------------------------------ share files

  function canShareFiles(list) {
    try { return !!(navigator.canShare && navigator.share && navigator.canShare({ files: list })); }
    catch (e) { return false; }
  }

  function prefetch(shareButton) {
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

  // ------------------------------------------------------------ sheet (outside WeChat)

  function sheetFlow() {
    var sheet = document.getElementById("forward-sheet");
    var backdrop = document.getElementById("sheet-backdrop");
    var shareButton = document.getElementById("share-files");
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

    button.addEventListener("click", function () {
      var copying = copy(data.text);            // 1. inside the tap
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
    if (inWechat) return wechatFallback();
    if (document.readyState === "complete") prefetch(shareButton);
    else window.addEventListener("load", function () { prefetch(shareButton); });
  }

  /* WeChat not seen by the server: nothing in the sheet that WeChat refuses. */
  function wechatFallback() {
    document.body.classList.add("in-wechat-js");
    document.getElementById("save-zip").hidden = true;
    document.getElementById("share-files").hidden = true;
    document.getElementById("sheet-hint").textContent = "长按图片，保存或发送给朋友";
  }

  // ------------------------------------------------------------ the page as the flow (WeChat)

  function wechatFlow() {
    var copied = false;
    button.addEventListener("click", function () {
      copy(data.text).then(function (ok) {
        showCopied(ok);
        if (ok) button.textContent = "✓ 已复制，去微信粘贴";
      });
      if (!copied) record(); // one forward per visit, however often the text is copied again
      copied = true;
    });
    var linkButton = document.getElementById("copy-link");
    if (linkButton) {
      linkButton.addEventListener("click", function () {
        var linkStatus = document.getElementById("link-status");
        copy(linkButton.getAttribute("data-link")).then(function (ok) {
          linkStatus.textContent = ok
            ? "✓ 链接已复制：打开手机浏览器，粘贴到地址栏"
            : "没能自动复制：长按上面的链接复制";
          linkStatus.className = "wx-status " + (ok ? "ok" : "warn");
        });
      });
    }
  }

  function record() { // a POST records the forward (a GET only previews it); the page works without it
    if (button.dataset.forwardUrl) S.api("POST", button.dataset.forwardUrl).catch(function () {});
  }

  // ------------------------------------------------------------ the second tap: the comment

  var commentButton = document.getElementById("copy-comment");
  if (commentButton) {
    commentButton.addEventListener("click", function () {
      var commentStatus = document.getElementById("comment-status");
      copy(data.comment).then(function (ok) {
        commentStatus.textContent = ok
          ? "✓ 评论已复制：在朋友圈下面「评论」里粘贴"
          : "没能自动复制：长按上面的评论文字复制";
        commentStatus.className = commentStatus.className.replace(/ ?\b(ok|warn)\b/g, "") + (ok ? " ok" : " warn");
        if (ok) commentButton.textContent = "✓ 已复制评论";
      });
    });
  }

  // ------------------------------------------------------------ my copy and markup

  var MY_COPY_RULES = {
    above_cap: "加价超过了这个素材允许的上限",
    negative: "加价不能是负数",
    decimals: "加价最多两位小数（精确到分）",
    number: "加价请填金额，例如 5 或 5.50",
    markup_off: "这个素材不允许加价",
    link: "自己的话里不能有链接：转发时会自动加上你的专属链接",
    required: "请写上自己的话，或选一段文案",
    max_length: "自己的话太长了"
  };
  var myCopy = document.getElementById("my-copy-form");
  if (myCopy) {
    var select = document.getElementById("variant-select");
    var ownField = document.getElementById("own-field");
    var preview = document.getElementById("variant-preview");
    var texts = {};
    Array.prototype.forEach.call(myCopy.querySelectorAll(".variant-texts li"), function (li) {
      texts[li.getAttribute("data-variant")] = li.textContent;
    });
    var showChoice = function () {
      var own = select.value === "own";
      ownField.hidden = !own;
      preview.textContent = own ? "" : (texts[select.value] || "");
    };
    select.addEventListener("change", showChoice);
    showChoice();
    myCopy.addEventListener("submit", function (e) {
      e.preventDefault();
      var error = document.getElementById("my-copy-error");
      var markup = document.getElementById("markup");
      var own = select.value === "own";
      var ownText = document.getElementById("own-text").value;
      var body = {
        variant_id: own || !select.value ? null : Number(select.value),
        own_text: own ? ownText : null,
        markup: markup ? markup.value.trim() || "0" : "0"
      };
      error.hidden = true;
      S.api("PUT", myCopy.getAttribute("data-url"), body).then(function () {
        window.location.reload();
      }, function (err) {
        var rule = err.problem && err.problem.rule;
        error.textContent = MY_COPY_RULES[rule] || err.message; // as text, never as HTML
        error.hidden = false;
      });
    });
  }

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

  if (wechatPage) wechatFlow();
  else sheetFlow();
})();
