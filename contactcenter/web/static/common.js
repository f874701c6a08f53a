// What every page shares: the logged-in user, REST calls with the CSRF token, elements built
// from data (text always as text), the live event stream that reconnects by itself, and the
// words and figures shown for tiers, channels and durations.

export const user = JSON.parse(document.querySelector("meta[name=cc-user]").content);

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

// JSON in and out; a 401 (the session ended) goes back to the login page.
export async function api(method, path, body) {
  // Only what changes state needs the CSRF token.
  const headers = method === "GET" ? {} : { "X-CSRF-Token": user.csrf_token };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new ApiError(401, null);
  }
  const text = await response.text();
  const data = text && response.headers.get("Content-Type")?.includes("json")
    ? JSON.parse(text) : text;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// el("button", {class: "primary", onclick: f}, "Accept") — children are nodes or text.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Text with the search engine's <mark> around matched words, and nothing else, as nodes.
export function marked(snippet) {
  const out = [];
  const parts = String(snippet).split(/(<mark>|<\/mark>)/);
  let inMark = false;
  for (const part of parts) {
    if (part === "<mark>") inMark = true;
    else if (part === "</mark>") inMark = false;
    else if (part) out.push(inMark ? el("mark", {}, unescape(part)) : unescape(part));
  }
  return out;
}

function unescape(text) {
  const area = document.createElement("textarea");
  area.innerHTML = text;  // an inert element: decodes &amp; and the like, runs nothing
  return area.value;
}

export const TIERS = { key_account: "Key account", relationship: "Relationship",
  transactional: "Transactional" };
export const CHANNELS = { voice: "Call", chat: "Chat", email: "Email", fax: "Fax" };

export function tierBadge(tier) {
  return el("span", { class: `badge tier-${tier}` }, TIERS[tier] || tier || "—");
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  seconds = Math.max(0, Math.round(seconds));
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60), s = seconds % 60;
  if (m < 60) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

export function percent(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`;
}

export function when(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const today = new Date().toDateString() === at.toDateString();
  return today ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

export function toast(text) {
  const node = el("div", { class: "toast", role: "status" }, text);
  document.body.append(node);
  setTimeout(() => node.remove(), 4000);
}

// The event stream: reconnects with backoff; after any gap (a reconnect, or the server saying
// we fell behind) `onResync` runs so that the page reloads its data and misses nothing.
export class EventStream {
  constructor(onEvent, onResync, indicator) {
    this.onEvent = onEvent;
    this.onResync = onResync;
    this.indicator = indicator;
    this.retry = 0;
    this.connected = false;
    this.connect();
  }

  connect() {
    const url = location.origin.replace(/^http/, "ws") + "/api/v1/events";
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      const gap = this.retry > 0 || this.resyncNeeded;
      this.retry = 0;
      this.resyncNeeded = false;
      this.show(true);
      if (gap) this.onResync();
    };
    ws.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "stream.overflow") { this.resyncNeeded = true; return; }
      this.onEvent(event);
    };
    ws.onclose = () => {
      this.show(false);
      this.retry += 1;
      const wait = Math.min(10000, 500 * 2 ** Math.min(this.retry, 5)) * (0.5 + Math.random());
      setTimeout(() => this.connect(), wait);
    };
  }

  show(on) {
    this.connected = on;
    if (!this.indicator) return;
    this.indicator.className = "live " + (on ? "on" : "off");
    this.indicator.textContent = on ? "Live" : "Reconnecting…";
  }
}

// The top bar's links for what this login may open, and logging out.
export function topBar(current) {
  const nav = document.querySelector("header.top nav");
  const links = [["/console", "Console", true],
    ["/supervisor", "Supervisor", user.role !== "agent"],
    ["/settings", "Settings", user.role === "admin"]];
  for (const [href, label, allowed] of links) {
    if (!allowed) continue;
    nav.append(el("a", { href, "aria-current": href === current ? "page" : null }, label));
  }
  document.querySelector("#who").textContent = user.username;
  document.querySelector("#logout").addEventListener("click", async () => {
    await api("POST", "/api/v1/auth/logout").catch(() => {});
    location.href = "/login";
  });
}

// Calls `fn` at most once per `ms`, the last call winning (bursts of events, one reload).
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Whether a key press is meant for a text field rather than a shortcut.
export function typing(event) {
  const t = event.target;
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement
    || t instanceof HTMLSelectElement || t.isContentEditable;
}
