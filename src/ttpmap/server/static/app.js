// ttpmap workbench: small progressive enhancements. No third-party code, no inline script, no innerHTML.
"use strict";

(function () {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  function say(message, isError) {
    const el = $("#status");
    if (!el) return;
    el.textContent = message;
    el.classList.toggle("error", !!isError);
  }

  async function api(method, url, body) {
    const headers = { "X-CSRF-Token": csrf, "Accept": "application/json" };
    const init = { method: method, headers: headers, credentials: "same-origin" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let data = null;
    if (response.status !== 204) {
      try { data = await response.json(); } catch (e) { data = null; }
    }
    if (!response.ok) {
      throw new Error((data && data.detail) || ("request failed (" + response.status + ")"));
    }
    return data;
  }

  function guarded(fn) {
    return async function (event) {
      try { await fn.call(this, event); } catch (err) { say(err.message, true); }
    };
  }

  async function waitForJob(id, onUpdate) {
    for (;;) {
      const job = await api("GET", "/api/v1/jobs/" + id);
      if (onUpdate) onUpdate(job);
      if (job.status === "done" || job.status === "failed") return job;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  // ---- jobs page: live progress without reloading --------------------------------------------
  function renderAction(cell, job) {
    cell.replaceChildren();
    if (job.status === "done" && job.document_id) {
      const a = document.createElement("a");
      a.href = "/reports/" + job.document_id;
      a.textContent = "Open report";
      cell.appendChild(a);
    } else if (job.status === "failed" && $("#jobs").dataset.canRetry !== "no") {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.retry = job.id;
      b.textContent = "Retry";
      cell.appendChild(b);
    }
  }

  function pollJobs(table) {
    const tick = guarded(async function () {
      const data = await api("GET", table.dataset.poll);
      let busy = false;
      for (const job of data.jobs) {
        const row = $('tr[data-job="' + job.id + '"]', table);
        if (!row) continue;
        const badge = $('[data-field="status"]', row);
        badge.textContent = job.status;
        badge.className = "badge " + job.status;
        $('[data-field="attempts"]', row).textContent = job.attempts + "/" + job.max_attempts;
        $('[data-field="error"]', row).textContent = job.error;
        renderAction($('[data-field="action"]', row), job);
        if (job.status === "queued" || job.status === "running") busy = true;
      }
      for (const [state, n] of Object.entries(data.counts)) {
        const el = $('[data-count="' + state + '"]');
        if (el) el.textContent = n;
      }
      if (busy) setTimeout(tick, 1000);
    });
    tick();
    table.addEventListener("click", guarded(async function (event) {
      const button = event.target.closest("[data-retry]");
      if (!button) return;
      await api("POST", "/api/v1/jobs/" + button.dataset.retry + "/retry");
      tick();
    }));
  }

  // ---- report page ---------------------------------------------------------------------------
  function reportPage(root) {
    const id = root.dataset.report;
    const text = $("#doctext");
    let selection = null; // {start, end}
    let mode = { kind: "add" };

    function showEvidence(tid) {
      $$(".seg.hl").forEach((s) => s.classList.remove("hl"));
      $$("tr.selected").forEach((r) => r.classList.remove("selected"));
      const hits = $$(".seg[data-t]").filter((s) => s.dataset.t.split(" ").includes(tid));
      hits.forEach((s) => s.classList.add("hl"));
      const row = $('tr[data-technique="' + tid + '"]');
      if (row) row.classList.add("selected");
      if (hits.length) hits[0].scrollIntoView({ block: "center" });
      else say("No evidence span for " + tid + " (found by an explicit ID or elsewhere).");
    }

    function boundary(node, offset, isEnd) {
      if (node === text) {
        const kids = text.childNodes;
        const child = isEnd ? kids[Math.max(offset - 1, 0)] : kids[Math.min(offset, kids.length - 1)];
        if (!child || !child.dataset) return null;
        return isEnd ? +child.dataset.e : +child.dataset.s;
      }
      const el = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
      const seg = el && el.closest(".seg");
      if (!seg || !text.contains(seg)) return null;
      const s = +seg.dataset.s, e = +seg.dataset.e;
      if (seg.classList.contains("ioc") || node.nodeType !== Node.TEXT_NODE) return isEnd ? e : s;
      return Math.min(s + offset, e);
    }

    document.addEventListener("selectionchange", function () {
      const sel = window.getSelection();
      if (!sel || sel.isCollapsed || !sel.rangeCount) return;
      const range = sel.getRangeAt(0);
      if (!text.contains(range.commonAncestorContainer)) return;
      const start = boundary(range.startContainer, range.startOffset, false);
      const end = boundary(range.endContainer, range.endOffset, true);
      if (start === null || end === null || end <= start) return;
      selection = { start: start, end: end };
      const shown = $("#selection");
      if (shown) shown.textContent = "Selected: “" + sel.toString().slice(0, 300) + "”";
    });

    const related = $("#related[data-related]");
    if (related) {
      guarded(async function () {
        const found = await api("GET", related.dataset.related);
        related.replaceChildren();
        for (const r of found.slice(0, 8)) {
          const li = document.createElement("li");
          const a = document.createElement("a");
          a.href = "/reports/" + r.id;
          a.textContent = r.title || ("report " + r.id);
          li.appendChild(a);
          const shared = Object.entries(r.shared).map(([k, v]) => k + " " + v.slice(0, 4).join(", "));
          li.appendChild(document.createTextNode(" (" + r.score.toFixed(2) + ": " + shared.join("; ") + ")"));
          related.appendChild(li);
        }
        if (!found.length) related.textContent = "No related report in the store.";
      })();
    }

    let timer = null;
    const input = $("#picker-input");
    if (input) {
      input.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(guarded(async function () {
          const hits = await api("GET", "/api/v1/techniques?q=" + encodeURIComponent(input.value));
          const list = $("#technique-options");
          list.replaceChildren();
          for (const t of hits) {
            const option = document.createElement("option");
            option.value = t.id;
            option.label = t.name;
            option.textContent = t.name;
            list.appendChild(option);
          }
        }), 150);
      });
    }

    function chosenId() {
      const m = /\bT\d{4}(?:\.\d{3})?\b/i.exec(input ? input.value : "");
      return m ? m[0].toUpperCase() : "";
    }

    function setMode(next) {
      mode = next;
      const help = $("#picker-help");
      const ok = $("#picker-ok");
      const cancel = $("#picker-cancel");
      if (mode.kind === "change") {
        help.textContent = "Change " + mode.tid + " to another technique:";
        ok.textContent = "Change " + mode.tid;
        cancel.hidden = false;
        input.focus();
      } else {
        help.textContent = "Select text in the report, then pick a technique to add for it.";
        ok.textContent = "Add technique for the selection";
        cancel.hidden = true;
      }
    }

    async function review(body) {
      await api("POST", "/api/v1/reports/" + id + "/reviews", body);
      say("Saved; updating…");
      window.location.reload();
    }

    document.addEventListener("click", guarded(async function (event) {
      const show = event.target.closest("[data-show]");
      if (show) return showEvidence(show.dataset.show);
      const btn = event.target.closest("[data-review]");
      if (btn) {
        if (btn.dataset.review === "change") return setMode({ kind: "change", tid: btn.dataset.tid });
        return review({ action: btn.dataset.review, technique_id: btn.dataset.tid });
      }
      const ioc = event.target.closest("[data-ioc-action]");
      if (ioc) return review({ action: ioc.dataset.iocAction, ioc_value: ioc.dataset.ioc });
      if (event.target.id === "picker-cancel") return setMode({ kind: "add" });
      if (event.target.id === "picker-ok") {
        const tid = chosenId();
        if (!tid) return say("Pick a technique (its ID, e.g. T1059.001).", true);
        if (mode.kind === "change") return review({ action: "change", technique_id: mode.tid, new_technique_id: tid });
        if (!selection) return say("Select some of the report's text first.", true);
        return review({ action: "add", technique_id: tid, start: selection.start, end: selection.end });
      }
      if (event.target.id === "reanalyze") {
        const job = await api("POST", "/api/v1/reports/" + id + "/reanalyze");
        say("Re-analysis queued (job " + job.id + ")…");
        const done = await waitForJob(job.id, (j) => say("Re-analysis: " + j.status + "…"));
        if (done.status === "failed") return say("Re-analysis failed: " + done.error, true);
        window.location.reload();
      }
    }));
  }

  // ---- models page ---------------------------------------------------------------------------
  function modelsPage() {
    document.addEventListener("click", guarded(async function (event) {
      if (event.target.id === "retrain") {
        const force = $("#retrain-force") && $("#retrain-force").checked;
        const job = await api("POST", "/api/v1/models/retrain", { force: !!force });
        say("Retraining (job " + job.id + ")… this takes a few minutes.");
        const done = await waitForJob(job.id, (j) => say("Retraining: " + j.status + "…"));
        if (done.status === "failed") return say("Retraining failed: " + done.error, true);
        window.location.reload();
      }
      if (event.target.id === "reanalyze-all") {
        const data = await api("POST", "/api/v1/models/reanalyze-all");
        window.location.href = "/jobs?ids=" + data.jobs.join(",");
      }
      const activate = event.target.closest("[data-activate]");
      if (activate) {
        await api("POST", "/api/v1/models/" + activate.dataset.activate + "/activate");
        window.location.reload();
      }
    }));
  }

  // ---- account page --------------------------------------------------------------------------
  function accountPage() {
    document.addEventListener("click", guarded(async function (event) {
      if (event.target.id === "new-token") {
        const name = $("#token-name").value || "api";
        const made = await api("POST", "/api/v1/tokens", { name: name });
        $("#token-secret").textContent = "New token (copy it now, it is not shown again): " + made.token;
      }
      const revoke = event.target.closest("[data-revoke]");
      if (revoke) {
        await api("DELETE", "/api/v1/tokens/" + revoke.dataset.revoke);
        window.location.reload();
      }
      if (event.target.id === "new-user") {
        await api("POST", "/api/v1/users", {
          username: $("#user-name").value, password: $("#user-password").value, role: $("#user-role").value,
        });
        window.location.reload();
      }
    }));
  }

  document.addEventListener("DOMContentLoaded", function () {
    const jobs = $("#jobs[data-poll]");
    if (jobs) pollJobs(jobs);
    const report = $("#report[data-report]");
    if (report) reportPage(report);
    if ($("#models")) modelsPage();
    if ($("#new-token")) accountPage();
  });
})();
