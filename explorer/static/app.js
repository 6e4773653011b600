// rollcourt explorer: renders GET /api/overview and refreshes it every REFRESH_MS.
// Plain DOM (no framework, no build step). Every value from upstream goes through textContent,
// never innerHTML. Stable ids and data-* attributes are the page's test hooks.
"use strict";

const REFRESH_MS = 1500;
const SHANNONS_PER_CKB = 100000000;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "hidden") el.hidden = Boolean(value);
    else el.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function short(hex, keep = 8) {
  if (!hex) return "–";
  return hex.length > 2 + 2 * keep ? `${hex.slice(0, 2 + keep)}…${hex.slice(-4)}` : hex;
}

function ckb(shannons) {
  if (shannons === null || shannons === undefined) return "–";
  return (shannons / SHANNONS_PER_CKB).toLocaleString("en-US", { maximumFractionDigits: 8 });
}

function ago(ms) {
  if (!ms) return "–";
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  return new Date(ms).toLocaleString();
}

function setText(id, text, data) {
  const el = document.getElementById(id);
  el.textContent = text;
  for (const [key, value] of Object.entries(data || {})) el.dataset[key] = value ?? "";
}

function fill(tbody, rows, emptyText, columns) {
  tbody.replaceChildren(...rows);
  if (!rows.length) tbody.append(h("tr", {}, h("td", { colspan: columns, class: "empty", text: emptyText })));
}

function kv(dl, pairs) {
  dl.replaceChildren();
  for (const [key, value, attrs] of pairs) {
    dl.append(h("dt", { text: key }), h("dd", { ...(attrs || {}) }, value ?? "–"));
  }
}

// ------------------------------------------------------------------------- sections
function renderRoles(roles) {
  const list = document.getElementById("roles");
  list.replaceChildren();
  for (const [role, info] of Object.entries(roles)) {
    const state = !info.configured ? "not configured" : info.ok ? "up" : "down";
    list.append(h("li", {
      "data-role": role, "data-ok": info.configured ? String(Boolean(info.ok)) : "",
      "data-configured": String(info.configured), title: info.error || info.url || state,
      text: `${role}: ${state}`,
    }));
  }
}

function renderSummary(data) {
  const l1 = data.l1, rollup = data.rollup, disputes = data.disputes;
  setText("l1-tip", l1 ? `#${l1.tip.number}` : "down", { number: l1 ? l1.tip.number : "" });
  setText("rollup-mode", rollup ? rollup.mode : "–", { mode: rollup ? rollup.mode : "" });
  setText("rollup-next-batch", rollup ? rollup.next_batch_number : "–");
  setText("rollup-next-final", rollup ? rollup.next_final_batch : "–");
  setText("open-disputes", disputes ? disputes.open : "–", { open: disputes ? disputes.open : "" });
  setText("l1-mempool", l1 && l1.mempool ? `${l1.mempool.pending} tx` : "–");
}

function renderRollup(rollup) {
  const dl = document.getElementById("rollup");
  if (!rollup) { kv(dl, [["rollup", "not found (no rollup id, or the L1 is down)"]]); return; }
  dl.dataset.mode = rollup.mode;
  dl.dataset.nextBatch = rollup.next_batch_number;
  dl.dataset.nextFinal = rollup.next_final_batch;
  const w = rollup.windows;
  kv(dl, [
    ["rollup id", h("code", { text: short(rollup.rollup_id, 12), title: rollup.rollup_id })],
    ["mode", `${rollup.mode} (verifying key ${short(rollup.verifying_key_hash)})`],
    ["L2 preset", `${rollup.l2_preset} · chain ${rollup.chain_id}`],
    ["next batch", rollup.next_batch_number],
    ["next final batch", rollup.next_final_batch],
    ["state root", h("code", { text: short(rollup.state_root, 12), title: rollup.state_root, id: "rollup-state-root" })],
    ["deposit index", rollup.next_deposit_index],
    ["pending forced", rollup.pending_forced],
    ["windows (blocks)", `challenge ${w.challenge} · forced ${w.forced_inclusion} · escape ${w.escape_timeout} · game clock ${w.game_clock}`],
    ["bond", `${ckb(rollup.bond)} CKB (burn ${rollup.burn_permille}‰)`],
    ["cell", h("code", { text: `${short(rollup.cell.tx_hash)}:${rollup.cell.index} @ #${rollup.cell.block_number}` })],
  ]);
}

function blobLink(hash) {
  const a = h("a", { href: `/api/blob/${hash}`, "data-blob": hash, class: "mono", text: short(hash, 6) });
  a.addEventListener("click", (event) => { event.preventDefault(); showBlob(hash); });
  return a;
}

async function showBlob(hash) {
  const panel = document.getElementById("blob-detail");
  panel.hidden = false;
  panel.dataset.blob = hash;
  panel.replaceChildren(h("p", { class: "empty", text: `loading blob ${short(hash)}…` }));
  try {
    const response = await fetch(`/api/blob/${hash}`);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.status);
    const dl = h("dl", { class: "kv" });
    kv(dl, [
      ["versioned hash", h("code", { text: body.versioned_hash })],
      ["block", `#${body.block_number}`],
      ["size", `${body.size.toLocaleString()} bytes`],
      ["records", body.record_count === null ? "not the first blob of a batch" : `${body.record_count} (${body.record_kinds.join(", ")})`],
      ["first bytes", h("code", { text: body.first_bytes })],
    ]);
    panel.replaceChildren(h("h3", { text: "blob" }), dl);
  } catch (error) {
    panel.replaceChildren(h("p", { class: "bad", text: `blob ${short(hash)}: ${error.message}` }));
  }
}

function renderBatches(batches, heads) {
  const body = document.querySelector("#batches tbody");
  const rows = batches.map((b) => h("tr", {
    "data-batch": b.number, "data-status": b.status, "data-source-status": b.source_status,
    "data-l1-tx": b.l1_tx_hash || "", "data-tx-count": b.tx_count ?? "",
  },
    h("td", { text: b.number }),
    h("td", { class: "status" }, h("span", { class: `pill ${b.status}`, text: b.status }),
      b.reverted_at_block !== null ? h("small", { text: ` at #${b.reverted_at_block}` }) : null),
    h("td", { text: b.tx_count ?? "–" }),
    h("td", { class: "mono" }, `${short(b.prev_root)} → ${short(b.new_root)}`),
    h("td", { text: b.deposit_start === null || b.deposit_start === undefined ? "–" : `${b.deposit_start}..${b.deposit_end}` }),
    h("td", { class: "mono", title: b.l1_tx_hash || "", text: short(b.l1_tx_hash) }),
    h("td", {}, ...b.blob_versioned_hashes.flatMap((vh, i) => (i ? [" ", blobLink(vh)] : [blobLink(vh)]))),
    h("td", { class: b.findings ? "bad" : "" },
      b.derived_root ? (b.derived_root === b.new_root ? "agrees" : `derived ${short(b.derived_root)}`) : "–",
      b.findings ? ` · ${b.findings} finding(s)` : null),
  ));
  fill(body, rows, "no batches yet", 8);
  const text = heads
    ? ["soft", "safe", "final"].map((k) => `${k} ${heads[k] && heads[k].batch !== null ? heads[k].batch : "–"}`).join(" · ")
    : "";
  setText("heads", text);
}

function clock(label, left, total, turn) {
  const pct = total ? Math.max(0, Math.min(100, (100 * left) / total)) : 0;
  const meter = h("div");
  meter.style.width = `${pct}%`;
  return h("div", { class: "clock", "data-turn": String(turn), "data-clock": label, "data-left": left ?? "" },
    h("div", {}, h("b", { text: label }), ` ${left ?? "–"} / ${total ?? "–"} blocks left${turn ? " · to move" : ""}`),
    h("div", { class: "meter" }, meter));
}

function renderDisputes(disputes, rollup) {
  const box = document.getElementById("disputes");
  const stats = document.getElementById("dispute-stats");
  const events = document.getElementById("dispute-events");
  if (!disputes) {
    box.replaceChildren(h("p", { class: "empty", text: "no challenger configured or reachable" }));
    stats.replaceChildren(); events.replaceChildren();
    return;
  }
  const s = disputes.stats || {};
  stats.replaceChildren(...["challenges", "moves", "one_steps", "games_won", "games_lost"].map((key) =>
    h("span", { "data-stat": key, "data-value": s[key] ?? 0, text: `${key.replace("_", " ")} ${s[key] ?? 0}  ` })));
  const total = rollup ? rollup.windows.game_clock : null;
  const games = disputes.games.map((g) => {
    const n = g.n || g.hi || 1;
    const range = h("div", { class: "range" });
    if (g.lo !== null && g.hi !== null) {
      range.style.left = `${(100 * g.lo) / n}%`;
      range.style.width = `${Math.max(1.5, (100 * (g.hi - g.lo)) / n)}%`;
    } else {
      range.style.display = "none";
    }
    const outcome = g.state === "settled"
      ? (g.winner ? `settled · ${g.winner} won` : "settled")
      : `move ${g.moves}/${g.max_moves} · ${g.turn} to move · timeout at #${g.timeout_at_block}`;
    return h("div", {
      class: "game", "data-game": g.out_point || `batch-${g.batch_number}`, "data-batch": g.batch_number,
      "data-lo": g.lo ?? "", "data-hi": g.hi ?? "", "data-n": n, "data-moves": g.moves ?? "",
      "data-max-moves": g.max_moves ?? "", "data-turn": g.turn ?? "", "data-state": g.state,
      "data-outcome": g.outcome ?? "", "data-winner": g.winner ?? "",
    },
      h("div", { class: "title" },
        h("b", { text: `batch ${g.batch_number} · range ${g.lo ?? "?"}..${g.hi ?? "?"} of 0..${n}` }),
        h("span", { text: outcome })),
      h("div", { class: "bar", title: `disputed records ${g.lo}..${g.hi} of 0..${n}` }, range,
        h("div", { class: "ticks" }, h("span", { text: "0" }), h("span", { text: String(n) }))),
      g.state === "live"
        ? h("div", { class: "clocks" },
          clock("proposer", g.proposer_clock, total, g.turn === "proposer"),
          clock("challenger", g.challenger_clock, total, g.turn === "challenger"))
        : null);
  });
  if (games.length) box.replaceChildren(...games);
  else box.replaceChildren(h("p", { class: "empty", text: "no dispute games" }));
  events.replaceChildren(...disputes.events.map((e) => h("li", { "data-kind": e.kind, "data-batch": e.batch_number },
    h("span", { class: "kind", text: e.kind }), `batch ${e.batch_number}: ${e.detail}`)));
}

function renderL1(l1, batches) {
  const body = document.querySelector("#l1-blocks tbody");
  if (!l1) { fill(body, [], "the L1 is unreachable", 6); return; }
  const rollupTxs = new Set(batches.map((b) => b.l1_tx_hash).filter(Boolean));
  const rows = l1.blocks.map((b) => h("tr", { "data-block": b.number, "data-txs": b.tx_count, "data-blobs": b.blob_count },
    h("td", { text: b.number }),
    h("td", { class: "mono", title: b.hash, text: short(b.hash) }),
    h("td", { text: ago(b.timestamp) }),
    h("td", { text: b.tx_count }),
    h("td", { text: b.blob_count }),
    h("td", {}, ...b.transactions.map((tx) => h("span", {
      class: `tx mono${rollupTxs.has(tx.hash) ? " rollup" : ""}`, "data-tx": tx.hash,
      text: `${short(tx.hash)} · ${tx.inputs} in → ${tx.outputs} out${tx.blob_versioned_hashes.length ? ` · ${tx.blob_versioned_hashes.length} blob(s)` : ""}${rollupTxs.has(tx.hash) ? " · batch" : ""}`,
    }))),
  ));
  fill(body, rows, "no blocks", 6);
}

function renderLight(light) {
  const body = document.querySelector("#light tbody");
  if (!light) { fill(body, [], "no light client configured or reachable", 4); setText("light-summary", ""); return; }
  const rows = light.blocks.map((b) => h("tr", { "data-block": b.number, "data-availability": b.availability },
    h("td", { text: b.number }),
    h("td", {}, h("span", { class: `pill ${b.availability}`, text: b.availability, title: b.reason || "" })),
    h("td", { text: b.blobs ?? "–" }),
    h("td", { text: b.cells_sampled ?? 0 })));
  fill(body, rows, "no sampled blocks", 4);
  setText("light-summary", `head #${light.head} · ` + Object.entries(light.counts).map(([k, v]) => `${k} ${v}`).join(" · "));
}

function renderAccounts(accounts) {
  const body = document.querySelector("#accounts tbody");
  const rows = (accounts || []).map((a) => h("tr", { "data-account": a.index, "data-balance": a.balance, "data-nonce": a.nonce },
    h("td", { text: a.index }),
    h("td", { class: "mono", title: a.public_key, text: short(a.public_key) }),
    h("td", { text: ckb(a.balance) }),
    h("td", { text: a.nonce })));
  fill(body, rows, accounts ? "no accounts yet" : "no sequencer or follower reachable", 4);
}

function renderFollowerProver(follower, prover) {
  const f = document.getElementById("follower");
  f.dataset.available = String(Boolean(follower));
  kv(f, follower ? [
    ["follower root", h("code", { text: short(follower.state_root, 10), title: follower.state_root || "" })],
    ["derived batches", `${follower.batches} (${follower.final_batches} final, ${follower.reverted} reverted)`],
    ["findings", follower.findings, { id: "follower-findings", "data-findings": follower.findings }],
    ["L1 processed", `#${follower.processed_block} (lag ${follower.lag_blocks ?? "–"})`],
  ] : [["follower", "not configured or unreachable"]]);
  if (follower && follower.error) f.append(h("dt", { text: "error" }), h("dd", { class: "bad", text: follower.error }));
  const p = document.getElementById("prover");
  p.dataset.available = String(Boolean(prover));
  if (!prover) { kv(p, [["prover", "not configured or unreachable"]]); return; }
  const health = prover.health;
  p.dataset.queue = health.queue_length;
  kv(p, [
    ["prover", `${health.status} · circuit ${health.preset}`],
    ["queue", health.queue_length],
    ["jobs", Object.entries(health.jobs || {}).map(([k, v]) => `${k} ${v}`).join(" · ")],
    ["latest", prover.jobs.slice(0, 5).map((j) => `${j.label || short(j.id || "", 4)}: ${j.status}`).join(", ") || "–"],
  ]);
}

// ------------------------------------------------------------------------- loop
function render(data) {
  renderRoles(data.roles);
  renderSummary(data);
  renderRollup(data.rollup);
  renderBatches(data.batches, data.heads);
  renderDisputes(data.disputes, data.rollup);
  renderL1(data.l1, data.batches);
  renderLight(data.light);
  renderAccounts(data.accounts);
  renderFollowerProver(data.follower, data.prover);
  document.body.dataset.loaded = "true";
  setText("updated", `updated ${new Date(data.generated_at * 1000).toLocaleTimeString()}`,
    { generatedAt: data.generated_at });
}

async function refresh() {
  const error = document.getElementById("conn-error");
  try {
    const response = await fetch("/api/overview", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
    error.hidden = true;
  } catch (exc) {
    error.hidden = false;
    error.textContent = `explorer unreachable: ${exc.message}`;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
