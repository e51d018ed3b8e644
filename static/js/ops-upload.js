/* Ops upload: drag-and-drop files, one multipart request with per-file progress, then live
   processing status until ready (publish) or failed (the reason, and retry).

   The API takes all files in one request, so the browser reports progress for the whole body.
   Each file's bar is computed from where its bytes sit inside that body: honest as long as the
   body is sent in order, which it is. */
(function () {
  "use strict";
  var S = window.Sucai, el = S.el;
  var form = document.getElementById("upload-form");
  if (!form) return;
  var zone = document.getElementById("drop-zone");
  var input = document.getElementById("file-input");
  var list = document.getElementById("file-list");
  var errorBox = document.getElementById("upload-error");
  var summary = document.getElementById("upload-summary");
  var button = document.getElementById("upload-button");
  var maxPhotos = +form.dataset.maxPhotos, maxPhotoMb = +form.dataset.maxPhotoMb;
  var maxVideoMb = +form.dataset.maxVideoMb;
  var FIELDS = ["title", "copy", "price", "original_price", "product_url", "brand", "category", "tags"];
  var items = []; // {file, kind, row, bar, pct, status}
  var busy = false, idemKey = null;

  function kindOf(file) {
    var t = file.type || "", n = file.name.toLowerCase();
    if (t.indexOf("image/") === 0 || /\.(jpe?g|png|webp)$/.test(n)) return "photo";
    if (t.indexOf("video/") === 0 || /\.(mp4|mov|webm)$/.test(n)) return "video";
    return null;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function count(kind) {
    return items.filter(function (it) { return it.kind === kind; }).length;
  }

  function addFiles(files) {
    if (busy) return;
    var problems = [];
    Array.prototype.forEach.call(files, function (file) {
      var kind = kindOf(file);
      if (!kind) return problems.push(file.name + "：不支持的文件类型");
      if (kind === "photo" && count("photo") >= maxPhotos) return problems.push("最多 " + maxPhotos + " 张图片，已忽略 " + file.name);
      if (kind === "video" && count("video") >= 1) return problems.push("只能有 1 个视频，已忽略 " + file.name);
      var limit = (kind === "photo" ? maxPhotoMb : maxVideoMb) * 1024 * 1024;
      if (file.size > limit) return problems.push(file.name + "：超过 " + limit / 1024 / 1024 + " MB");
      items.push(makeRow(file, kind));
    });
    idemKey = null; // a different set of files is a different upload
    showError(problems.join("；"));
    refresh();
  }

  function makeRow(file, kind) {
    var preview = kind === "photo"
      ? el("img", { class: "file-preview", alt: "", src: URL.createObjectURL(file) })
      : el("span", { class: "file-preview file-preview-video", "aria-hidden": "true", text: "▶" });
    var bar = el("progress", { class: "file-bar", max: "100", value: "0" });
    var pct = el("span", { class: "file-pct", text: "待上传" });
    var status = el("span", { class: "file-status" });
    var remove = el("button", { type: "button", class: "file-remove", "aria-label": "移除 " + file.name, text: "×" });
    var row = el("li", { class: "file-row file-" + kind }, [
      preview,
      el("span", { class: "file-info" }, [
        el("span", { class: "file-name", text: file.name }),
        el("span", { class: "file-meta", text: (kind === "photo" ? "图片" : "视频") + " · " + S.bytes(file.size) }),
        el("span", { class: "file-progress" }, [bar, pct]),
        status
      ]),
      remove
    ]);
    var item = { file: file, kind: kind, row: row, bar: bar, pct: pct, status: status };
    remove.addEventListener("click", function () {
      items.splice(items.indexOf(item), 1);
      idemKey = null;
      refresh();
    });
    return item;
  }

  function ordered() { // the order of the multipart body, and of the material's assets
    return items.filter(function (i) { return i.kind === "photo"; })
      .concat(items.filter(function (i) { return i.kind === "video"; }));
  }

  function refresh() {
    list.textContent = "";
    ordered().forEach(function (it) { list.appendChild(it.row); });
    var p = count("photo"), v = count("video");
    summary.textContent = items.length ? p + " 张图片" + (v ? "，1 个视频" : "") : "";
  }

  // ------------------------------------------------------------ drop zone

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (e) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      zone.classList.add("drag-over");
    });
  });
  zone.addEventListener("dragleave", function () { zone.classList.remove("drag-over"); });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    zone.classList.remove("drag-over");
    addFiles(e.dataTransfer.files);
  });
  // A file dropped beside the zone must not navigate away from a half-filled form.
  window.addEventListener("dragover", function (e) { e.preventDefault(); });
  window.addEventListener("drop", function (e) { e.preventDefault(); });
  // The zone is the input's <label>: clicks and keys reach the picker without script.
  input.addEventListener("change", function () { addFiles(input.files); input.value = ""; });

  // ------------------------------------------------------------ upload

  function utf8len(s) { return new Blob([s]).size; }

  /* Where each file's bytes sit in the multipart body, estimated from the parts' sizes. */
  function byteRanges(fields, files) {
    var pos = 0;
    fields.forEach(function (f) { pos += 100 + utf8len(f[0]) + utf8len(f[1]); });
    var ranges = files.map(function (it) {
      pos += 170 + utf8len(it.file.name);
      var r = { start: pos, size: it.file.size };
      pos += it.file.size;
      return r;
    });
    return { ranges: ranges, total: pos + 50 };
  }

  function setProgress(it, fraction, label) {
    it.bar.value = Math.round(fraction * 100);
    it.pct.textContent = label || "上传 " + Math.round(fraction * 100) + "%";
  }

  function setStatus(it, state, text) {
    it.row.dataset.state = state;
    it.status.textContent = text;
  }

  function lock(on) {
    busy = on;
    Array.prototype.forEach.call(form.elements, function (e) { e.disabled = on; });
    zone.classList.toggle("disabled", on);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (busy) return;
    if (!count("photo")) return showError("至少需要 1 张图片。");
    if (!form.reportValidity()) return;
    upload();
  });

  function upload() {
    var files = ordered();
    var fields = FIELDS.map(function (name) { return [name, form.elements[name].value]; });
    var body = new FormData();
    fields.forEach(function (f) { body.append(f[0], f[1]); });
    files.forEach(function (it) { body.append(it.kind === "photo" ? "photos" : "video", it.file, it.file.name); });
    var layout = byteRanges(fields, files);
    idemKey = idemKey || (Date.now().toString(36) + Math.random().toString(36).slice(2));

    showError("");
    files.forEach(function (it) { setProgress(it, 0); setStatus(it, "uploading", ""); it.row.classList.remove("file-bad"); });
    document.getElementById("progress-note").hidden = false;
    lock(true);
    button.textContent = "上传中…";

    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/materials");
    xhr.setRequestHeader("X-CSRF-Token", S.csrf());
    xhr.setRequestHeader("Idempotency-Key", idemKey);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (ev) {
      if (!ev.lengthComputable) return;
      var scale = ev.total / layout.total;
      files.forEach(function (it, i) {
        var r = layout.ranges[i];
        var f = (ev.loaded - r.start * scale) / Math.max(1, r.size * scale);
        setProgress(it, Math.max(0, Math.min(1, f)));
      });
    });
    xhr.upload.addEventListener("load", function () {
      files.forEach(function (it) { setProgress(it, 1, "已上传"); setStatus(it, "checking", "服务器检查中…"); });
    });
    xhr.addEventListener("load", function () {
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
      if (xhr.status === 201 || xhr.status === 200) return uploaded(data, files);
      failed(data, files, xhr.status);
    });
    xhr.addEventListener("error", function () {
      failed(null, files, 0);
    });
    xhr.send(body);
  }

  function failed(problem, files, status) {
    lock(false);
    button.textContent = "重新上传";
    files.forEach(function (it) { setProgress(it, 0, "未上传"); setStatus(it, "", ""); });
    var text = status === 0 ? "网络中断，上传没有完成。请检查网络后重新上传。"
      : status === 413 ? "文件太大，超过了上传上限。"
      : (problem && problem.detail) || "上传失败（" + status + "）";
    if (problem && problem.file) {
      files.forEach(function (it) {
        if (it.file.name === problem.file) { it.row.classList.add("file-bad"); setStatus(it, "failed", problem.detail); }
      });
    }
    showError(text);
  }

  // ------------------------------------------------------------ processing status

  var after = document.getElementById("after-upload");

  function uploaded(material, files) {
    button.hidden = true;
    after.hidden = false;
    document.getElementById("edit-link").href = "/ops/m/" + material.id;
    var publishForm = document.getElementById("publish-form");
    publishForm.action = "/ops/m/" + material.id + "/publish";
    document.getElementById("retry-button").addEventListener("click", function () {
      this.hidden = true;
      S.api("POST", "/api/v1/materials/" + material.id + "/retry").then(function (m) {
        show(m, files);
        poll(material.id, files, 0);
      }, function (err) { showAfterError(err.message); });
    });
    show(material, files);
    poll(material.id, files, 0);
  }

  var ASSET_TEXT = { processing: "处理中…", ready: "就绪 ✓", failed: "失败" };

  function show(material, files) {
    material.assets.forEach(function (a, i) {
      var it = files[i];
      if (!it) return;
      setStatus(it, a.status, ASSET_TEXT[a.status] + (a.error ? "：" + a.error : ""));
    });
    var title = document.getElementById("after-title");
    var ready = material.status === "ready", bad = material.status === "failed";
    title.textContent = ready ? "全部就绪 ✓ 可以发布了" : bad ? "处理失败" : "处理中…";
    after.dataset.status = material.status;
    document.getElementById("publish-form").hidden = !ready;
    document.getElementById("retry-button").hidden = !bad;
    showAfterError(bad ? "原因：" + (material.error || "未知") : "");
  }

  function showAfterError(text) {
    var box = document.getElementById("after-error");
    box.textContent = text;
    box.hidden = !text;
  }

  function poll(id, files, attempt) {
    setTimeout(function () {
      S.api("GET", "/api/v1/materials/" + id).then(function (m) {
        show(m, files);
        if (m.status === "processing") poll(id, files, attempt + 1);
      }, function () { poll(id, files, attempt + 1); });
    }, attempt < 30 ? 1000 : 3000);
  }
})();
