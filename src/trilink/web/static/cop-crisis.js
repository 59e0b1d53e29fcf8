// The COP's crisis board: open incidents (who has acknowledged, what is due next and how long
// is left) and the nations' threat assessments side by side. Data from GET /api/crisis
// (trilink.crisis.board); cop.js calls copCrisis.refresh() at start and whenever a crisis
// report arrives. Countdowns tick every second from the server's clock offset.
"use strict";
(function () {
  let board = null;
  let offsetMs = 0; // server clock - browser clock, so a skewed workstation counts right
  let pending = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function left(deadline) {
    if (!deadline) return null;
    const t = Date.parse(deadline);
    if (Number.isNaN(t)) return null;
    return (t - (Date.now() + offsetMs)) / 1000;
  }

  function clock(seconds) {
    const s = Math.abs(Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function countdownText(seconds) {
    if (seconds === null) return "no deadline";
    return seconds >= 0 ? `${clock(seconds)} left` : `OVERDUE ${clock(seconds)}`;
  }

  function tick() {
    for (const c of document.querySelectorAll("#crisis-board .countdown")) {
      const s = left(c.dataset.deadline);
      const text = countdownText(s);
      if (c.textContent !== text) c.textContent = text;
      const cls = `countdown ${s === null ? "" : s < 0 ? "overdue" : s < 60 ? "soon" : "ok"}`;
      if (c.className !== cls) c.className = cls;
    }
  }

  function incidentCard(inc) {
    const card = el("article", undefined, `incident status-${inc.status}${inc.late ? " late" : ""}`);
    card.dataset.incident = inc.incident_id;
    const head = el("header");
    head.appendChild(el("strong", inc.title));
    if (inc.exercise) head.appendChild(el("span", "EXERCISE", "chip exercise"));
    head.appendChild(el("span", inc.status.toUpperCase(), "chip status"));
    card.appendChild(head);
    card.appendChild(el("div", `${inc.incident_id} · ${inc.playbook} · opened ${inc.opened_at} by ${inc.opened_by}`, "meta"));
    if (inc.trigger) card.appendChild(el("div", inc.trigger, "meta"));
    const acks = el("div", undefined, "acks");
    acks.appendChild(el("span", "Acknowledged:", "what"));
    for (const [nation, at] of Object.entries(inc.acks)) {
      const chip = el("span", at ? `${nation} ✓ ${at.slice(11, 19)}Z` : `${nation} PENDING`, `chip ack ${at ? "yes" : "no"}`);
      chip.dataset.nation = nation;
      chip.title = at ? `${nation} acknowledged at ${at}` : `${nation} has not acknowledged`;
      acks.appendChild(chip);
    }
    card.appendChild(acks);
    const due = el("div", undefined, "due");
    due.appendChild(el("span", "Next deadline:", "what"));
    const c = el("span", countdownText(left(inc.next_deadline)), "countdown");
    c.dataset.deadline = inc.next_deadline || "";
    due.appendChild(c);
    card.appendChild(due);
    // what is due now; the steps that wait for it are only counted
    const active = inc.tasks.filter((t) => t.state === "active");
    const waiting = inc.tasks.filter((t) => t.state === "waiting").length;
    if (active.length) {
      const table = el("table", undefined, "tasks");
      const hr = el("tr");
      for (const h of ["step", "nation", "role", "state", "due", "called"]) hr.appendChild(el("th", h));
      table.appendChild(hr);
      for (const t of active) {
        const tr = el("tr", undefined, t.late ? "late" : "");
        for (const v of [t.step, t.nation, t.role, t.state]) tr.appendChild(el("td", v));
        const td = el("td");
        if (t.state === "active" && t.deadline) {
          const cd = el("span", countdownText(left(t.deadline)), "countdown");
          cd.dataset.deadline = t.deadline;
          td.appendChild(cd);
        } else td.textContent = "—";
        tr.appendChild(td);
        tr.appendChild(el("td", t.level ? `${t.called} (level ${t.level})` : t.called || ""));
        table.appendChild(tr);
      }
      card.appendChild(table);
    }
    if (waiting) card.appendChild(el("div", `${waiting} later step${waiting > 1 ? "s" : ""} waiting`, "meta"));
    return card;
  }

  function divergenceTable(d) {
    const box = el("article", undefined, `divergence ${d.disagree.length ? "differ" : "agree"}`);
    box.dataset.event = d.event_ref;
    box.appendChild(el("header", `Assessments of ${d.event_ref}`));
    const table = el("table");
    const hr = el("tr");
    hr.appendChild(el("th", ""));
    for (const n of d.nations) hr.appendChild(el("th", n));
    hr.appendChild(el("th", ""));
    table.appendChild(hr);
    for (const field of ["threat_level", "actor", "intent", "confidence"]) {
      const f = d.fields[field];
      const tr = el("tr", undefined, f.agree ? "agree" : "differ");
      tr.dataset.field = field;
      tr.appendChild(el("th", field.replace("_", " ")));
      for (const n of d.nations) tr.appendChild(el("td", f.values[n]));
      tr.appendChild(el("td", f.agree ? "agree" : field === "threat_level" ? `differ (${f.spread_levels} levels)` : "differ", "verdict"));
      table.appendChild(tr);
    }
    box.appendChild(table);
    if (d.missing.length) box.appendChild(el("div", `No assessment yet from ${d.missing.join(", ")}`, "meta"));
    return box;
  }

  function render() {
    const section = document.getElementById("crisis-section");
    const root = document.getElementById("crisis-board");
    if (!section || !root || !board) return;
    root.replaceChildren();
    const open = board.incidents;
    document.getElementById("crisis-count").textContent = String(open.length);
    for (const inc of open) root.appendChild(incidentCard(inc));
    if (board.divergence.length) {
      root.appendChild(el("h3", "Threat assessments side by side"));
      for (const d of board.divergence) root.appendChild(divergenceTable(d));
    }
    section.hidden = !open.length && !board.divergence.length;
    tick();
  }

  async function load() {
    const r = await fetch("/api/crisis", { credentials: "same-origin" });
    if (r.status === 401) { window.location = "/login?expired=1"; return; }
    if (!r.ok) throw new Error(`/api/crisis: ${r.status}`);
    board = await r.json();
    offsetMs = Date.parse(board.now) - Date.now();
    render();
  }

  // Reports of an incident arrive in bursts (every nation's record, acknowledgements):
  // one reload per quarter second is enough.
  function refresh() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; load().catch((e) => console.error(e)); }, 250);
  }

  setInterval(tick, 1000);
  window.copCrisis = { refresh, load, get board() { return board; } };
})();
