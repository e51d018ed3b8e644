/* WeChat's own card for this page when it is forwarded from WeChat's browser. WeChat ignores
   OpenGraph: a page sets that card (title, excerpt, link, image) through the JS-SDK, after a
   wx.config the server signs for this very URL (without its #fragment). Outside WeChat the SDK
   can do nothing, so it is not even loaded there: no third-party script for other browsers.
   Data comes from <script type="application/json" id="wechat-share"> (the CSP allows no inline
   script). */
(function () {
  "use strict";
  var node = document.getElementById("wechat-share");
  if (!node || !/MicroMessenger/i.test(navigator.userAgent)) return;
  var data = JSON.parse(node.textContent);
  var pageUrl = location.href.split("#")[0];

  function loadSdk() {
    return new Promise(function (resolve, reject) {
      if (window.wx) return resolve(window.wx);
      var script = document.createElement("script");
      script.src = data.sdk;
      script.async = true;
      script.onload = function () {
        if (window.wx) resolve(window.wx);
        else reject(new Error("the JS-SDK defined no wx"));
      };
      script.onerror = function () { reject(new Error("the JS-SDK did not load")); };
      document.head.appendChild(script);
    });
  }

  function fetchConfig() {
    var url = data.config + "?url=" + encodeURIComponent(pageUrl);
    return fetch(url, { credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (!resp.ok) throw new Error("jssdk-config answered " + resp.status);
        return resp.json();
      });
  }

  function setShareCard(wx) {
    var share = data.share;
    wx.updateAppMessageShareData({
      title: share.title, desc: share.desc, link: share.link, imgUrl: share.imgUrl
    });
    // Moments shows only a title beside the image.
    wx.updateTimelineShareData({ title: share.title, link: share.link, imgUrl: share.imgUrl });
  }

  Promise.all([loadSdk(), fetchConfig()]).then(function (got) {
    var wx = got[0], config = got[1];
    wx.config({
      debug: false,
      appId: config.appId,
      timestamp: config.timestamp,
      nonceStr: config.nonceStr,
      signature: config.signature,
      jsApiList: data.jsApiList
    });
    wx.ready(function () { setShareCard(wx); });
    wx.error(function (res) { console.warn("wx.config failed:", res && res.errMsg); });
  }).catch(function (err) {
    // The page works without it; WeChat then shows its plain link card.
    console.warn("WeChat share card not set:", err && err.message);
  });
})();
