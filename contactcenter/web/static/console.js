// The agent console: presence and load, offers with their countdown, one tab per interaction
// held, and the keyboard shortcuts. The open interaction is drawn by console_work.js, the
// customer and the suggested answers by console_side.js. The desk is reloaded from
// GET /api/v1/console whenever an event says it changed, and after every reconnect.
import { api, CHANNELS, debounce, el, EventStream, tierBadge, toast, topBar, typing, user }
  from "./common.js";
import { WorkView } from "./console_work.js";
import { SidePanel } from "./console_side.js";

const desk = { agent: null, offers: [], work: [], groups: [], agents: [] };
const unread = new Set();
let openId = null;
let shown = { id: null, status: null }; // the work the view was drawn for, and its status then

const side = new SidePanel(document.querySelector("#customer"),
  document.querySelector("#suggestions"), (text) => view.insert(text));
const view = new WorkView(document.querySelector("#work"), side, {
  reload: () => reloadDesk(),
  transfer: () => openTransfer(),
  wrapUp: () => openWrapUp(),
});

// The page arrives with the desk in it; every later reload asks the API.
let firstDesk = document.querySelector("#desk-data");

async function reloadDesk() {
  let data;
  if (firstDesk) {
    data = JSON.parse(firstDesk.textContent);
    firstDesk = null;
  } else {
    data = await api("GET", "/api/v1/console");
  }
  Object.assign(desk, data);
  drawPresence();
  drawOffers();
  drawTabs();
  const held = desk.work.map((w) => w.id);
  if (openId !== null && !held.includes(openId)) {
    openId = null;
    view.clear();
    side.clear();
  }
  if (openId === null && held.length) open(held[0]);
  // The open work changed status (wrapped up, say): its view follows at once.
  const current = desk.work.find((w) => w.id === openId);
  if (current && shown.id === openId && current.status !== shown.status) open(openId);
  // When the desk was first drawn, for the page-load benchmark (bench/consoles.py).
  if (!performance.getEntriesByName("cc:desk-drawn").length) performance.mark("cc:desk-drawn");
}
const reloadSoon = debounce(reloadDesk, 120);

// -- presence and load ------------------------------------------------------------------------
const presence = document.querySelector("#presence");
presence.addEventListener("change", async () => {
  if (!desk.agent) return;
  try {
    await api("PUT", `/api/v1/agents/${desk.agent.id}/presence`, { presence: presence.value });
  } catch (error) {
    toast(error.message);
  }
  reloadSoon();
});

function drawPresence() {
  if (!desk.agent) {
    presence.disabled = true;
    document.querySelector("#load").textContent = "This login takes no work";
    return;
  }
  const value = desk.agent.presence;
  if (![...presence.options].some((o) => o.value === value)) {
    presence.append(el("option", { value }, value.replace("_", "-")));
  }
  presence.value = value;
  const load = document.querySelector("#load");
  load.replaceChildren(...Object.entries(desk.agent.capacity)
    .filter(([, cap]) => cap > 0)
    .map(([ch, cap]) => el("span", { class: "badge", title: `${CHANNELS[ch]}: ` +
      `${desk.agent.load[ch] || 0} of ${cap}` }, `${CHANNELS[ch]} ${desk.agent.load[ch] || 0}/${cap}`)));
}

// -- offers -----------------------------------------------------------------------------------
function drawOffers() {
  const box = document.querySelector("#offers");
  if (!desk.offers.length) {
    box.replaceChildren(el("p", { class: "empty" },
      desk.agent && desk.agent.presence === "available" ? "Waiting for work…"
        : "Go available to receive offers."));
    return;
  }
  box.replaceChildren(...desk.offers.map((offer, index) => {
    const total = (desk.offer_seconds[offer.channel] || 30) * 1000;
    const bar = el("div");
    const left = el("span", { class: "small muted" });
    const card = el("article", { class: "offer", "aria-label": `Offer: ${CHANNELS[offer.channel]}`
      + ` from ${offer.customer_name}` },
      el("div", { class: "row" }, el("span", { class: "ch" }, CHANNELS[offer.channel]),
        tierBadge(offer.tier), el("span", { class: "grow" }), left),
      el("div", { class: "name" }, offer.customer_name),
      el("div", { class: "small" }, offer.topic || offer.subject || "—"),
      el("div", { class: "countdown", "aria-hidden": "true" }, bar),
      el("div", { class: "row" },
        el("button", { class: "primary", onclick: () => accept(offer.id) },
          "Accept", index === 0 ? el("kbd", {}, "A") : null),
        el("button", { onclick: () => reject(offer.id) },
          "Reject", index === 0 ? el("kbd", {}, "X") : null)));
    const tick = () => {
      const ms = offer.expires_at ? offer.expires_at * 1000 - Date.now() : 0;
      bar.style.width = `${Math.max(0, Math.min(100, (ms / total) * 100))}%`;
      left.textContent = ms > 0 ? `${Math.ceil(ms / 1000)}s` : "lapsing";
      if (card.isConnected && ms > -2000) setTimeout(tick, 1000);
      else if (card.isConnected) reloadSoon();
    };
    tick();
    return card;
  }));
}

async function accept(id) {
  try {
    await api("POST", `/api/v1/interactions/${id}/accept`);
    openId = id;
  } catch (error) {
    toast(`Could not accept: ${error.message}`);
  }
  await reloadDesk();
  open(id);
}

async function reject(id) {
  try {
    await api("POST", `/api/v1/interactions/${id}/reject`);
  } catch (error) {
    toast(`Could not reject: ${error.message}`);
  }
  reloadDesk();
}

// -- tabs -------------------------------------------------------------------------------------
function drawTabs() {
  const tabs = document.querySelector("#tabs");
  if (!desk.work.length) {
    tabs.replaceChildren(el("p", { class: "empty" }, "No interactions open."));
    return;
  }
  tabs.replaceChildren(...desk.work.map((w) => el("button", {
    role: "tab", id: `tab-${w.id}`, "aria-selected": String(w.id === openId),
    "aria-controls": "work", tabindex: w.id === openId ? "0" : "-1",
    onclick: () => open(w.id),
  },
  el("span", {}, el("span", { class: "ch" }, CHANNELS[w.channel]), " ", w.customer_name),
  unread.has(w.id) ? el("span", { class: "unread", title: "New messages" }) : el("span"),
  el("span", { class: "small muted" }, w.status === "wrap_up" ? "wrap-up" : (w.subject || "")),
  tierBadge(w.tier))));
}

function open(id) {
  openId = id;
  unread.delete(id);
  drawTabs();
  const work = desk.work.find((w) => w.id === id);
  shown = { id, status: work ? work.status : null };
  if (work) view.show(work, desk);
}

function step(by) {
  if (!desk.work.length) return;
  const index = desk.work.findIndex((w) => w.id === openId);
  const next = desk.work[(index + by + desk.work.length) % desk.work.length];
  open(next.id);
  document.querySelector(`#tab-${next.id}`)?.focus();
}

// -- transfer and wrap-up dialogs ---------------------------------------------------------------
async function openTransfer() {
  if (openId === null) return;
  if (desk.work.find((w) => w.id === openId)?.channel === "voice") {
    toast("A call in progress cannot be transferred from the console.");
    return;
  }
  const select = document.querySelector("#transfer-to");
  if (!desk.agents.length) desk.agents = (await api("GET", "/api/v1/agents")).agents;
  select.replaceChildren(
    el("optgroup", { label: "Groups" }, desk.groups.map((g) => el("option", { value: `g:${g}` }, g))),
    el("optgroup", { label: "Agents" }, desk.agents.filter((a) => a.id !== desk.agent.id)
      .map((a) => el("option", { value: `a:${a.id}` }, `${a.name} (${a.presence})`))));
  document.querySelector("#transfer-error").textContent = "";
  document.querySelector("#transfer-dialog").showModal();
}

document.querySelector("#transfer-dialog").addEventListener("close", async (event) => {
  const dialog = event.target;
  if (dialog.returnValue !== "done" || openId === null) return;
  const [kind, value] = document.querySelector("#transfer-to").value.split(/:(.*)/s);
  const body = kind === "g" ? { to_group: value } : { to_agent: Number(value) };
  try {
    await api("POST", `/api/v1/interactions/${openId}/transfer`, body);
    toast("Transferred.");
  } catch (error) {
    toast(`Could not transfer: ${error.message}`);
  }
  reloadDesk();
});

function openWrapUp() {
  if (openId === null) return;
  const work = desk.work.find((w) => w.id === openId);
  if (!work || work.status !== "active") return;
  document.querySelector("#wrapup").reset();
  document.querySelector("#wrapup-error").textContent = "";
  document.querySelector("#wrapup-dialog").showModal();
}

document.querySelector("#wrapup").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "done") return;
  event.preventDefault();
  const body = {
    disposition: document.querySelector("#disposition").value,
    complaint: document.querySelector("#complaint").checked,
  };
  const outcome = document.querySelector("#outcome").value.trim();
  const notes = document.querySelector("#notes").value.trim();
  if (outcome) body.outcome = outcome;
  if (notes) body.notes = notes;
  const work = desk.work.find((w) => w.id === openId);
  try {
    await api("POST", `/api/v1/interactions/${openId}/complete`, body);
    document.querySelector("#wrapup-dialog").close();
    toast("Completed.");
    if (work) { // no composer for work that is over, not even until the desk reloads
      work.status = "wrap_up";
      if (openId === work.id) open(work.id);
    }
    if (work?.channel === "voice") {
      await api("POST", `/api/v1/interactions/${work.id}/hangup`)
        .then(() => toast("Completed; the call is ending."))
        .catch((error) => toast(`Completed; the call: ${error.message}`));
    }
    reloadDesk();
  } catch (error) {
    document.querySelector("#wrapup-error").textContent = error.message;
  }
});

// -- live events ------------------------------------------------------------------------------
function onEvent(event) {
  const id = event.interaction_id;
  switch (event.type) {
    case "chat.line":
    case "chat.typing":
    case "interaction.message":
      if (id === openId) view.event(event);
      else if (event.type !== "chat.typing" && desk.work.some((w) => w.id === id)) {
        unread.add(id);
        drawTabs();
      }
      return;
    case "interaction.suggestions":
      if (id === openId) side.suggestions(event.suggestions, id);
      return;
    default:
      if (event.type.startsWith("routing.") || event.type.startsWith("interaction.")
        || event.type.startsWith("agent.") || event.type === "chat.ended") reloadSoon();
  }
}

new EventStream(onEvent, () => { reloadDesk(); if (openId !== null) open(openId); },
  document.querySelector("#live"));

// -- keyboard ---------------------------------------------------------------------------------
document.addEventListener("keydown", (event) => {
  // Escape leaves a text field, so that the next key is a shortcut again.
  if (event.key === "Escape" && typing(event) && !document.querySelector("dialog[open]")) {
    event.target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
  if (document.querySelector("dialog[open]")) return;
  const key = event.key.toLowerCase();
  const first = desk.offers[0];
  const actions = {
    a: () => first && accept(first.id),
    x: () => first && reject(first.id),
    r: () => view.focusComposer(),
    w: () => openWrapUp(),
    t: () => openTransfer(),
    j: () => step(1),
    k: () => step(-1),
    "/": () => document.querySelector("#kb-q").focus(),
    "?": () => document.querySelector("#keys-dialog").showModal(),
  };
  if (actions[key]) {
    event.preventDefault();
    actions[key]();
  }
});
document.querySelector("#shortcuts").addEventListener("click",
  () => document.querySelector("#keys-dialog").showModal());
document.querySelector("#kb-search").addEventListener("submit", (event) => {
  event.preventDefault();
  side.search(document.querySelector("#kb-q").value);
});

topBar("/console");
reloadDesk().catch((error) => toast(`Could not load the console: ${error.message}`));
if (user.agent_id === null) toast("This login is not an agent's; it can read but takes no work.");
