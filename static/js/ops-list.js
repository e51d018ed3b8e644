/* Material list: select all, count the selection, confirm a bulk take-down. */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var all = document.getElementById("select-all");
  var counter = document.getElementById("bulk-count");
  var boxes = form.querySelectorAll('input[name="ids"]');

  function update() {
    var n = form.querySelectorAll('input[name="ids"]:checked').length;
    counter.textContent = n ? "已选 " + n + " 个" : "未选择";
    all.checked = n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
    form.classList.toggle("has-selection", n > 0);
  }
  all.addEventListener("change", function () {
    Array.prototype.forEach.call(boxes, function (b) { b.checked = all.checked; });
    update();
  });
  Array.prototype.forEach.call(boxes, function (b) { b.addEventListener("change", update); });
  form.addEventListener("submit", function (e) {
    var action = e.submitter ? e.submitter.value : "";
    var n = form.querySelectorAll('input[name="ids"]:checked').length;
    if (action === "unpublish" && n && !window.confirm("确定下架选中的 " + n + " 个素材？")) e.preventDefault();
  });
  update();
})();
