// The supervisor dashboard: tiles per tier × channel (service level over the last 30 minutes
// and today against its target, waiting, longest wait, ASA, abandonment, AHT), waiting work
// that can be moved to another group or agent, SLA alerts as they happen, agents with their
// presence (which the supervisor can change), work, time in state and occupancy, and the day's
// chart and CSV. The board is reloaded from GET /api/v1/board when events say it changed
// (at most twice a second), and the clocks tick in the page between reloads.
import { api, CHANNELS, debounce, duration, el, EventStream, percent, tierBadge, toast, topBar,
  when } from "./common.js";

let board = null;
let loadedAt = 0;
const alerts = [];
const MAX_ALERTS = 50;
// Email and fax targets are "first response within T" with no percentage in the policy; their
// tiles are judged against this share, and say so.
const DEFAULT_GOAL = 80;

let chartAt = Date.now();

async function reload() {
  const first = board === null;
  board = await api("GET", "/api/v1/board");
  loadedAt = Date.now();
  if (first) seedAlerts();
  if (loadedAt - chartAt > 10000) refreshChart();
  drawTiles();
  drawWaiting();
  drawGroups();
  drawAgents();
  drawComplaintsNow();
}
const reloadSoon = debounce(reload, 500);

function since(seconds) {
  return seconds + (Date.now() - loadedAt) / 1000;
}

// -- tiles ------------------------------------------------------------------------------------
function drawTiles() {
  const today = new Map(board.today.by_tier_channel.map((r) => [`${r.tier}/${r.channel}`, r]));
  const rows = board.recent.by_tier_channel;
  for (const r of board.today.by_tier_channel) {
    if (!rows.some((x) => x.tier === r.tier && x.channel === r.channel)) {
      rows.push({ ...r, offered: 0, answered: 0, service_level: null, asa_seconds: null,
        aht_seconds: null, abandonment_rate: null, waiting: 0, longest_wait_seconds: 0 });
    }
  }
  const order = { key_account: 0, relationship: 1, transactional: 2 };
  rows.sort((a, b) => order[a.tier] - order[b.tier] || a.channel.localeCompare(b.channel));
  const box = document.querySelector("#tiles");
  if (!rows.length) {
    box.replaceChildren(el("p", { class: "empty" }, "No work in the last 30 minutes or today."));
    return;
  }
  box.replaceChildren(...rows.map((r) => tile(r, today.get(`${r.tier}/${r.channel}`))));
  const short = board.recent.by_tier_channel[0]?.short_abandons_excluded_under_seconds;
  document.querySelector("#sl-note").textContent = "Abandoned work counts against service level"
    + (short ? `, except abandons within ${short}s.` : ".");
}

function tile(r, day) {
  const target = r.service_level_target;
  const goal = target ? (target.percent ?? DEFAULT_GOAL) / 100 : null;
  const waitingHere = board.waiting.filter((w) => w.tier === r.tier && w.channel === r.channel);
  const breached = waitingHere.some((w) => w.sla_state === "breached");
  const risky = waitingHere.some((w) => w.sla_state === "warning");
  let state = "";
  if (goal !== null && r.service_level !== null && r.service_level < goal) state = "missed";
  else if (breached) state = "missed";
  else if (risky || (goal !== null && r.service_level !== null && r.service_level < goal + 0.05)) {
    state = "warning";
  } else if (r.service_level !== null) state = "ok";
  const words = { missed: "target missed", warning: "at risk", ok: "on target", "": "no work" };
  const targetText = target ? `${target.percent ?? DEFAULT_GOAL}% ${target.measure === "answered"
    ? "answered" : "first response"} within ${duration(target.seconds)}`
    + (target.percent ? "" : " (80% assumed)") : "no target";
  const longest = el("b", { dataset: { since: r.longest_wait_seconds, live: r.waiting ? "1" : "" } },
    r.waiting ? duration(r.longest_wait_seconds) : "—");
  return el("article", { class: `tile ${state}`, "aria-label":
    `${r.tier} ${r.channel}: ${words[state]}` },
  el("div", { class: "row" }, tierBadge(r.tier), el("span", { class: "ch" }, CHANNELS[r.channel]),
    el("span", { class: "grow" }),
    state ? el("span", { class: `badge state-${state}` }, words[state]) : null),
  el("div", { class: "row" }, el("span", { class: "big", dataset: { sl: `${r.tier}/${r.channel}` } },
    percent(r.service_level)), el("span", { class: "small muted" }, "last 30 min")),
  el("div", { class: "small muted" }, `Target ${targetText}`),
  r.undecided ? el("div", { class: "small muted" },
    `${r.undecided} waiting inside the target, not counted yet`) : null,
  el("div", { class: "grid" },
    el("span", {}, "Today"), el("b", {}, percent(day?.service_level)),
    el("span", {}, "Waiting"), el("b", { dataset: { waiting: `${r.tier}/${r.channel}` } },
      String(r.waiting)),
    el("span", {}, "Longest wait"), longest,
    el("span", {}, "ASA"), el("b", {}, duration(r.asa_seconds)),
    el("span", {}, "Abandoned"), el("b", {}, percent(r.abandonment_rate)),
    el("span", {}, "AHT"), el("b", {}, duration(r.aht_seconds)),
    el("span", {}, "Offered"), el("b", {}, `${r.offered} (today ${day?.offered ?? 0})`)));
}

// -- waiting work and moving it ---------------------------------------------------------------
function moveControl(work) {
  const select = el("select", { "aria-label": `Move ${work.customer_name}'s ${work.channel} to` },
    el("option", { value: "" }, "Move to…"),
    el("optgroup", { label: "Groups" }, board.groups.map((g) => el("option", { value: `g:${g}` }, g))),
    el("optgroup", { label: "Agents" }, board.agents.map((a) =>
      el("option", { value: `a:${a.id}` }, `${a.name} (${a.presence})`))));
  select.addEventListener("change", async () => {
    if (!select.value) return;
    const [kind, value] = select.value.split(/:(.*)/s);
    const body = kind === "g" ? { to_group: value } : { to_agent: Number(value) };
    try {
      await api("POST", `/api/v1/interactions/${work.id}/move`, body);
      toast(`Moved ${work.customer_name} to ${kind === "g" ? value : select.selectedOptions[0].text}.`);
    } catch (error) {
      toast(`Not moved: ${error.message}`);
    }
    reload();
  });
  return select;
}

function drawWaiting() {
  const waiting = board.waiting.filter((w) => w.status !== "offered");
  document.querySelector("#waiting-count").textContent = `${waiting.length} waiting`;
  const body = document.querySelector("#waiting");
  if (!board.waiting.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "6", class: "empty" }, "Nothing waiting.")));
    return;
  }
  body.replaceChildren(...board.waiting.map((w) => el("tr", { id: `waiting-${w.id}` },
    el("td", {}, el("button", { class: "link", onclick: () => detail(w.id),
      "aria-label": `Show interaction ${w.id}` }, w.customer_name), " ", tierBadge(w.tier)),
    el("td", {}, el("span", { class: "ch" }, CHANNELS[w.channel]),
      w.status === "offered" ? el("div", { class: "small muted" }, "being offered") : null),
    el("td", {}, el("span", { dataset: { since: w.waited_seconds, live: "1" } },
      duration(w.waited_seconds))),
    el("td", {}, w.sla_seconds === null ? "—" : el("span", { class: `badge state-${w.sla_state}` },
      `${w.sla_state === "ok" ? "within" : w.sla_state} ${duration(w.sla_seconds)}`)),
    el("td", { class: "small" }, w.waits_for.join(", ") || "—"),
    el("td", {}, w.status === "offered" ? "" : moveControl(w)))));
}

function drawGroups() {
  const counts = board.recent.waiting_by_group;
  document.querySelector("#groups").replaceChildren(...board.groups.map((g) => el("tr", {},
    el("td", {}, g), el("td", {}, String(counts[g] || 0)),
    el("td", {}, String(board.agents.filter((a) => a.groups.includes(g)
      && a.presence === "available").length)))));
}

// -- agents -----------------------------------------------------------------------------------
function drawAgents() {
  const occupancy = Object.fromEntries((board.recent.agents.occupancy_by_agent || [])
    .map((o) => [o.agent_id, o.occupancy]));
  const all = board.recent.agents;
  document.querySelector("#occupancy").textContent = `Occupancy now ${percent(all.occupancy_now)}`
    + ` · last 30 min ${percent(all.occupancy)}`;
  document.querySelector("#agents").replaceChildren(...board.agents.map((a) => {
    const presence = el("select", { "aria-label": `Presence of ${a.name}` },
      ["available", "away", "offline"].concat(a.presence === "wrap_up" ? ["wrap_up"] : [])
        .map((p) => el("option", { value: p, selected: p === a.presence }, p.replace("_", "-"))));
    presence.addEventListener("change", async () => {
      try {
        await api("PUT", `/api/v1/agents/${a.id}/presence`, { presence: presence.value });
        toast(`${a.name} is now ${presence.value}.`);
      } catch (error) {
        toast(error.message);
      }
      reloadSoon();
    });
    const load = Object.entries(a.capacity).filter(([ch, cap]) => cap > 0 && ch in a.load)
      .map(([ch, cap]) => `${CHANNELS[ch]} ${a.load[ch]}/${cap}`).join(" · ");
    return el("tr", {},
      el("td", {}, a.name, el("div", { class: "small muted" }, a.groups.join(", "))),
      el("td", {}, presence, a.presence_reason
        ? el("div", { class: "small muted", dataset: { reason: a.id } }, a.presence_reason) : ""),
      el("td", {}, el("span", { dataset: { since: a.seconds_in_presence, live: "1" } },
        duration(a.seconds_in_presence))),
      el("td", {}, a.work.length ? a.work.map((w) => el("div", { class: "small" },
        el("span", { class: "ch" }, CHANNELS[w.channel]), ` ${w.customer_name} · ${w.status}`))
        : el("span", { class: "muted" }, "—")),
      el("td", { class: "small" }, load || "—"),
      el("td", {}, percent(occupancy[a.id])));
  }));
}

// -- alerts and the interaction one click away -------------------------------------------------
function addAlert(event) {
  if (event.type === "sla.escalated") {  // a step of the policy's escalation was taken
    alerts.unshift({ id: event.interaction_id, escalation: event.step, detail: event.detail,
      at: event.at ? new Date(event.at) : new Date(), name: `#${event.interaction_id}` });
    alerts.length = Math.min(alerts.length, MAX_ALERTS);
    drawAlerts();
    return;
  }
  if (event.type === "survey.answered") {  // a score of 1 or 2: a complaint case is opened too
    alerts.unshift({ id: event.interaction_id, score: event.csat, at: new Date(),
      name: `#${event.interaction_id}` });
    alerts.length = Math.min(alerts.length, MAX_ALERTS);
    drawAlerts();
    return;
  }
  const breach = event.type === "routing.SlaBreached";
  const work = board?.waiting.find((w) => w.id === event.interaction_id);
  alerts.unshift({ id: event.interaction_id, breach, at: new Date(), threshold: event.threshold,
    name: work ? `${work.customer_name} (${CHANNELS[work.channel]})` : `#${event.interaction_id}` });
  alerts.length = Math.min(alerts.length, MAX_ALERTS);
  drawAlerts();
}

// Work already past 80% of its target when the page opens is listed as if its alert had just
// come: the page missed the event, not the problem.
function seedAlerts() {
  for (const e of [...board.escalations].reverse()) {
    addAlert({ type: "sla.escalated", interaction_id: e.interaction_id, step: e.step,
      detail: e.data.group ? `moved to ${e.data.group}` : e.data.points ? `priority +${e.data.points}` : "",
      at: e.at });
  }
  for (const w of board.waiting) {
    if (w.sla_state !== "warning" && w.sla_state !== "breached") continue;
    alerts.push({ id: w.id, breach: w.sla_state === "breached", at: new Date(),
      threshold: w.sla_seconds, name: `${w.customer_name} (${CHANNELS[w.channel]})` });
  }
  drawAlerts();
}

function drawAlerts() {
  const list = document.querySelector("#alerts");
  if (!alerts.length) {
    list.replaceChildren(el("li", { class: "empty" }, "No alerts: nothing waiting has passed 80% of its target."));
    return;
  }
  list.replaceChildren(...alerts.map((a) => el("li", { class: a.breach || a.score || a.escalation
    ? "state-breached" : "state-warning" },
  a.escalation ? el("span", { class: "grow" }, el("b", {}, `Escalated: ${a.escalation}`),
    ` on ${a.name}${a.detail ? ` · ${a.detail}` : ""} · ${a.at.toLocaleTimeString()}`)
    : a.score ? el("span", { class: "grow" }, el("b", {}, `Low score ${a.score}/5`),
    ` on ${a.name} · complaint opened · ${a.at.toLocaleTimeString()}`)
    : el("span", { class: "grow" }, el("b", {}, a.breach ? "Breached" : "At 80%"), ` ${a.name} · `
    + `target ${duration(a.threshold)} · ${a.at.toLocaleTimeString()}`),
  el("button", { onclick: () => detail(a.id) }, "Open"))));
}

async function detail(id) {
  const box = document.querySelector("#detail");
  const data = await api("GET", `/api/v1/interactions/${id}`);
  const work = board.waiting.find((w) => w.id === id);
  box.replaceChildren(...[
    el("dl", { class: "facts" },
      el("dt", {}, "Customer"), el("dd", {}, work?.customer_name || `#${data.customer_id}`),
      el("dt", {}, "Channel"), el("dd", {}, CHANNELS[data.channel]),
      el("dt", {}, "Status"), el("dd", {}, data.status.replace("_", "-")),
      el("dt", {}, "Subject"), el("dd", {}, data.subject || "—"),
      el("dt", {}, "Created"), el("dd", {}, when(data.created_at))),
    data.messages.length ? el("blockquote", { class: "small" },
      data.messages[data.messages.length - 1].body.slice(0, 400)) : null,
    work && work.status !== "offered" ? el("div", { class: "row" }, el("span", {}, "Move to"),
      moveControl(work)) : el("p", { class: "muted small" },
      "It is not waiting now, so it cannot be moved.")].filter(Boolean));
  document.querySelector("#detail-h").textContent = `Interaction #${id}`;
  const dialog = document.querySelector("#detail-dialog");
  if (!dialog.open) dialog.showModal();
}

// -- complaints -------------------------------------------------------------------------------
function drawComplaintsNow() {
  const c = board.complaints;
  document.querySelector("#complaints-now").textContent =
    `${c.open} open · ${c.overdue} overdue · ${c.unassigned} without an owner`;
}

// Complaints per 1,000 interactions over the last 30 days: fetched apart from the board (it
// reads the whole window), once a minute.
async function drawComplaintRates() {
  const report = await api("GET", "/api/v1/reports/complaints?days=30");
  document.querySelector("#complaints-note").textContent =
    `${report.complaints} complaints in ${report.interactions} interactions over the last 30 days`;
  const rows = [];
  for (const [by, label] of [["by_tier", "Tier"], ["by_channel", "Channel"], ["by_product", "Product"]]) {
    for (const r of report[by].filter((r) => r.complaints > 0)) {
      rows.push(el("tr", {}, el("td", {}, label), el("td", {}, r.key.replace("_", " ")),
        el("td", {}, String(r.complaints)), el("td", {}, String(r.interactions)),
        el("td", {}, r.per_1000 === null ? "—" : r.per_1000.toFixed(1))));
    }
  }
  document.querySelector("#complaint-rates").replaceChildren(...rows);
}
setInterval(() => drawComplaintRates().catch(() => {}), 60000);

// CSAT % (4–5 of responses) and response rate over 30 days, once a minute like the complaints.
async function drawSatisfaction() {
  const report = await api("GET", "/api/v1/reports/surveys?days=30");
  const pct = (v) => (v === null ? "—" : `${v}%`);
  document.querySelector("#csat-all").textContent =
    `CSAT ${pct(report.csat_percent)} · response rate ${pct(report.response_rate)}`;
  const rows = [];
  for (const [by, label] of [["by_tier", "Tier"], ["by_channel", "Channel"], ["by_group", "Group"],
    ["by_agent", "Agent"]]) {
    for (const r of report[by]) {
      rows.push(el("tr", {}, el("td", {}, label), el("td", {}, r.key.replace("_", " ")),
        el("td", {}, String(r.sent)), el("td", {}, String(r.responses)),
        el("td", {}, pct(r.csat_percent)), el("td", {}, pct(r.response_rate))));
    }
  }
  document.querySelector("#csat-rows").replaceChildren(...rows);
}
setInterval(() => drawSatisfaction().catch(() => {}), 60000);

// -- the tier review --------------------------------------------------------------------------
// Open suggestions, each accepted (the tier changes) or dismissed (it stays) by a click.
async function drawReviews() {
  const data = await api("GET", "/api/v1/tier-reviews?status=open&limit=50");
  const body = document.querySelector("#reviews");
  if (!data.reviews.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "5", class: "muted" },
      "No customer's orders suggest another tier.")));
    return;
  }
  body.replaceChildren(...data.reviews.map((r) => {
    const decide = (verb, said) => async () => {
      try {
        await api("POST", `/api/v1/tier-reviews/${r.id}/${verb}`);
        toast(`${r.customer_name}: ${said}.`);
      } catch (error) {
        toast(error.message);
      }
      drawReviews().catch(() => {});
    };
    return el("tr", {},
      el("td", {}, r.customer_name || `Customer ${r.customer_id}`),
      el("td", {}, tierBadge(r.current_tier)), el("td", {}, tierBadge(r.suggested_tier)),
      el("td", {}, r.value),
      el("td", {}, el("button", { onclick: decide("accept", `now ${r.suggested_tier.replace("_", " ")}`),
        "aria-label": `Accept ${r.suggested_tier.replace("_", " ")} for ${r.customer_name}` }, "Accept"),
      " ", el("button", { onclick: decide("dismiss", "tier kept"),
        "aria-label": `Dismiss the suggestion for ${r.customer_name}` }, "Dismiss")));
  }));
}
setInterval(() => drawReviews().catch(() => {}), 60000);

// -- live -------------------------------------------------------------------------------------
function onEvent(event) {
  if (event.type === "routing.SlaWarning" || event.type === "routing.SlaBreached") addAlert(event);
  if (event.type === "survey.answered" && event.low) addAlert(event);
  if (event.type === "sla.escalated") addAlert(event);
  if (event.type === "chat.typing" || event.type === "interaction.suggestions") return;
  reloadSoon();
}

setInterval(() => {
  document.querySelector("#clock").textContent = new Date().toLocaleTimeString();
  for (const node of document.querySelectorAll("[data-live='1']")) {
    node.textContent = duration(since(Number(node.dataset.since)));
  }
}, 1000);
// The chart follows the board, at most every 10 seconds, and at least every minute.
function refreshChart() {
  chartAt = Date.now();
  document.querySelector("#chart").src = `/api/v1/reports/today/service-level.svg?at=${chartAt}`;
}
setInterval(refreshChart, 60000);

topBar("/supervisor");
drawAlerts();
new EventStream(onEvent, () => reload(), document.querySelector("#live"));
reload().catch((error) => toast(`Could not load the board: ${error.message}`));
drawComplaintRates().catch((error) => toast(`Could not load the complaints: ${error.message}`));
drawSatisfaction().catch((error) => toast(`Could not load satisfaction: ${error.message}`));
drawReviews().catch((error) => toast(`Could not load the tier review: ${error.message}`));
