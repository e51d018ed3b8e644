/* Edit page: while a material is processing, poll its status and show each file's state;
   when processing ends, reload so thumbnails and the publish controls are current. */
(function () {
  "use strict";
  var panel = document.getElementById("asset-panel");
  if (!panel || panel.dataset.status !== "processing") return;
  var NAMES = { processing: "处理中", ready: "就绪", failed: "失败" };

  function show(material) {
    material.assets.forEach(function (a) {
      var li = panel.querySelector('[data-asset="' + a.id + '"]');
      if (!li) return;
      var badge = li.querySelector("[data-status-badge]");
      badge.textContent = NAMES[a.status] || a.status;
      badge.className = "badge badge-" + a.status;
      var err = li.querySelector(".asset-error");
      err.textContent = a.error || "";
      err.hidden = !a.error;
    });
  }

  function poll(attempt) {
    setTimeout(function () {
      window.Sucai.api("GET", panel.dataset.statusUrl).then(function (m) {
        show(m);
        if (m.status === "processing") poll(attempt + 1);
        else window.location.reload();
      }, function () { poll(attempt + 1); });
    }, attempt < 30 ? 1000 : 3000);
  }
  poll(0);
})();
