// holdfast console: live export progress. Plain script, no library.
// The numbers come from the console's /exports/{id}/status, which is the
// API's GET /api/v2/bulk/recordingexports/{id} answer, unchanged.
(function () {
  "use strict";
  var box = document.querySelector("[data-export-live]");
  if (!box) { return; }
  var url = box.getAttribute("data-export-live");
  var terminal = { completed: 1, completed_with_errors: 1, failed: 1, cancelled: 1 };
  function set(name, value) {
    var el = box.querySelector('[data-field="' + name + '"]');
    if (el) { el.textContent = String(value); }
  }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) { throw new Error("status " + res.status); }
        return res.json();
      })
      .then(function (job) {
        var p = job.progress || {};
        ["matched", "exported", "pending", "failed", "bytes_exported", "percent"].forEach(function (k) { set(k, p[k]); });
        set("state", job.state);
        var bar = box.querySelector("progress");
        if (bar) { bar.value = p.percent; bar.textContent = p.percent + "%"; }
        var st = box.querySelector('[data-field="state"]');
        if (st) { st.className = "state " + job.state; }
        if (terminal[job.state]) {
          // The finished page shows the package and failures: reload once.
          if (box.getAttribute("data-state") !== job.state) { window.location.reload(); }
          return;
        }
        window.setTimeout(tick, 1000);
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  if (!terminal[box.getAttribute("data-state")]) { window.setTimeout(tick, 500); }
})();
