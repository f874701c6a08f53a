// Beside the conversation: the customer's record (identities, tier, segment, lifecycle stage,
// account manager, complaints, past satisfaction) with their timeline across every channel and
// a search over it; and the knowledge base's suggested answers with "insert into reply" and
// used / helpful / not relevant, plus a search of the whole knowledge base.
import { api, CHANNELS, el, marked, tierBadge, toast, when } from "./common.js";

const KINDS = { phone: "Phone", email: "Email", fax: "Fax", chat_visitor: "Chat visitor",
  external: "CRM id" };
const TIMELINE_PAGES = 3;  // up to 150 entries are loaded for the search over them

export class SidePanel {
  constructor(customerBox, suggestionBox, insert) {
    this.customerBox = customerBox;
    this.suggestionBox = suggestionBox;
    this.insert = insert;
    this.interactionId = null;
  }

  clear() {
    this.interactionId = null;
    this.customerBox.replaceChildren(el("p", { class: "empty" },
      "The customer of the open interaction shows here."));
    this.suggestionBox.replaceChildren();
  }

  async show(customerId, interactionId) {
    this.interactionId = interactionId;
    const [customer, entries, suggestions, cases] = await Promise.all([
      api("GET", `/api/v1/customers/${customerId}`),
      this.timeline(customerId),
      api("GET", `/api/v1/interactions/${interactionId}/suggestions`).catch(() => []),
      api("GET", `/api/v1/complaints?customer_id=${customerId}&limit=50`)
        .then((data) => data.complaints).catch(() => []),
    ]);
    if (this.interactionId !== interactionId) return;
    if (customer.account_manager_id) {
      const manager = await api("GET", `/api/v1/agents/${customer.account_manager_id}`)
        .catch(() => null);
      customer.account_manager_name = manager?.name;
    }
    this.drawCustomer(customer, entries, cases);
    this.suggestions(suggestions, interactionId);
  }

  async timeline(customerId) {
    const entries = [];
    let cursor = null;
    for (let page = 0; page < TIMELINE_PAGES; page += 1) {
      const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
      const data = await api("GET", `/api/v1/customers/${customerId}/timeline${query}`);
      entries.push(...data.entries);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    return entries;
  }

  drawCustomer(customer, entries, cases) {
    const past = entries.filter((e) => e.kind === "interaction").map((e) => e.interaction);
    const active = cases.filter((c) => c.status === "open" || c.status === "investigating");
    const complaints = cases.length ? el("div", {},
      ...active.map((c) => el("div", {}, `${c.reference} · ${c.status} · due ${when(c.due_at)}`,
        c.overdue ? el("span", { class: "badge state-missed" }, "overdue") : "",
        el("button", { type: "button", class: "link", onclick: () => workOnComplaint(c, () =>
          this.show(customer.id, this.interactionId)) }, "Work on it"))),
      cases.length > active.length
        ? el("div", { class: "muted" }, `${cases.length - active.length} resolved or closed`) : "")
      : "None";
    const scores = past.map((i) => i.satisfaction).filter((s) => s);
    // The timeline is newest first: the first score is the last the customer gave.
    const satisfaction = scores.length
      ? `${(scores.reduce((a, b) => a + b, 0) / scores.length).toFixed(1)} / 5 (${scores.length})`
        + ` · last ${scores[0]}`
      : "—";
    const list = el("ol", { class: "timeline", "aria-label": "Timeline" });
    const search = el("input", { type: "search", placeholder: "Search the timeline",
      "aria-label": "Search the timeline" });
    const draw = () => {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      const shown = entries.filter((e) => words.every((w) => entryText(e).includes(w)));
      list.replaceChildren(...(shown.length ? shown.map(entryItem)
        : [el("li", { class: "muted" }, words.length ? "Nothing matches." : "No history yet.")]));
    };
    search.addEventListener("input", draw);
    draw();
    this.customerBox.replaceChildren(...[
      el("div", { class: "row" }, el("h3", {}, customer.name || customer.organisation || "Unknown"),
        tierBadge(customer.tier)),
      customer.organisation && customer.name ? el("div", { class: "small" }, customer.organisation)
        : null,
      el("dl", { class: "facts small" },
        el("dt", {}, "Segment"), el("dd", {}, words(customer.segment)),
        el("dt", {}, "Lifecycle"), el("dd", {}, words(customer.lifecycle_stage)),
        el("dt", {}, "Account manager"), el("dd", {}, customer.account_manager_name
          || (customer.account_manager_id ? `Agent ${customer.account_manager_id}` : "—")),
        el("dt", {}, "Complaints"), el("dd", {}, complaints),
        el("dt", {}, "Satisfaction"), el("dd", {}, satisfaction),
        el("dt", {}, "Identities"), el("dd", {}, customer.identities.map((i) =>
          el("div", {}, `${KINDS[i.kind] || i.kind}: ${i.value}`,
            i.verified ? " ✓" : "")))),
      search, list].filter(Boolean));
  }

  suggestions(found, interactionId) {
    if (interactionId !== this.interactionId) return;
    this.drawArticles(found, "Nothing suggested yet for this conversation.", true);
  }

  async search(q) {
    if (!q.trim()) return;
    try {
      const data = await api("GET", `/api/v1/kb/search?q=${encodeURIComponent(q)}&limit=5`);
      this.drawArticles(data.hits, "No article matches.", this.interactionId !== null);
    } catch (error) {
      toast(error.message);
    }
  }

  drawArticles(articles, none, feedback) {
    if (!articles.length) {
      this.suggestionBox.replaceChildren(el("p", { class: "empty" }, none));
      return;
    }
    this.suggestionBox.replaceChildren(...articles.map((a) => el("article",
      { class: "suggestion", "aria-label": a.title },
      el("div", { class: "title" }, a.title),
      a.short_answer ? el("p", { class: "answer" }, a.short_answer) : null,
      a.snippet ? el("div", { class: "small muted" }, marked(a.snippet)) : null,
      el("div", { class: "actions" },
        el("button", { onclick: () => this.use(a) }, "Insert into reply"),
        feedback ? el("button", { onclick: () => this.verdict(a, "helpful") }, "Helpful") : null,
        feedback ? el("button", { onclick: () => this.verdict(a, "not_relevant") },
          "Not relevant") : null))));
  }

  async use(article) {
    this.insert(article.short_answer || article.title);
    await this.verdict(article, "used", true);
  }

  async verdict(article, verdict, quiet = false) {
    if (this.interactionId === null) return;
    try {
      await api("POST", `/api/v1/interactions/${this.interactionId}/suggestions/`
        + `${article.article_id}/feedback`, { verdict });
      if (!quiet) toast(verdict === "helpful" ? "Marked helpful." : "Replaced with another.");
    } catch (error) {
      toast(error.message);
    }
  }
}

function words(value) {
  return value ? value.replaceAll("_", " ") : "—";
}

function entryText(entry) {
  const i = entry.interaction;
  const text = i ? [i.channel, i.subject, i.status, i.disposition, i.outcome,
    ...(i.messages || []).map((m) => m.body)] : [entry.kind, JSON.stringify(entry)];
  return text.filter(Boolean).join(" ").toLowerCase();
}

// The complaint dialog: move a case on (resolving needs the resolution and the outcome), or
// start the follow-up call the case needs; `done` redraws the panel.
const NEXT = { open: ["investigating", "resolved"], investigating: ["resolved"] };
function workOnComplaint(complaint, done) {
  const dialog = document.querySelector("#complaint-dialog");
  const form = document.querySelector("#complaint-form");
  const error = document.querySelector("#complaint-error");
  document.querySelector("#complaint-h").textContent = `Complaint ${complaint.reference}`;
  document.querySelector("#complaint-summary").textContent = complaint.summary || "";
  document.querySelector("#complaint-status").replaceChildren(...(NEXT[complaint.status] || [])
    .map((s) => el("option", { value: s }, words(s))));
  error.textContent = "";
  form.onsubmit = async (event) => {
    const action = event.submitter?.value;
    if (action === "cancel") return;
    event.preventDefault();
    try {
      if (action === "follow-up") {
        await api("POST", `/api/v1/complaints/${complaint.id}/follow-up`, { channel: "voice" });
        toast(`A call back for ${complaint.reference} is in the queue.`);
      } else {
        const body = { status: document.querySelector("#complaint-status").value };
        const resolution = document.querySelector("#complaint-resolution").value.trim();
        const outcome = document.querySelector("#complaint-outcome").value;
        if (resolution) body.resolution = resolution;
        if (outcome) body.outcome = outcome;
        await api("POST", `/api/v1/complaints/${complaint.id}/status`, body);
        toast(`${complaint.reference} is now ${words(body.status)}.`);
      }
      dialog.close();
      done();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  dialog.showModal();
}

// A record event in words: stage and tier changes with their reason, complaint steps.
function eventText(event) {
  const d = event.data || {};
  const change = (what) => `${what}: ${words(d.from)} → ${words(d.to)}${d.reason ? ` (${d.reason})` : ""}`;
  switch (event.type) {
    case "lifecycle_changed": return change("Lifecycle");
    case "tier_changed": return change("Tier");
    case "complaint_opened": return `Complaint ${d.reference} opened${d.summary ? `: ${d.summary}` : ""}`;
    case "complaint_moved": return `Complaint ${d.reference}: ${words(d.from)} → ${words(d.to)}`
      + (d.outcome ? ` (${words(d.outcome)})` : "");
    case "complaint_assigned": return `Complaint ${d.reference} given an owner`;
    case "complaint_followed_up": return `Complaint ${d.reference} followed up`;
    default: return event.type;
  }
}

function entryItem(entry) {
  const i = entry.interaction;
  if (!i) {
    const body = entry.note?.body || entry.body || (entry.event ? eventText(entry.event) : entry.kind);
    return el("li", {}, el("div", { class: "small muted" }, `${when(entry.at)} · ${entry.kind}`),
      el("div", {}, String(body)));
  }
  return el("li", {},
    el("div", { class: "small muted" }, `${when(entry.at)} · `, el("span", { class: "ch" },
      CHANNELS[i.channel] || i.channel), ` · ${i.status.replace("_", "-")}`),
    el("div", {}, i.subject || "(no subject)"),
    i.outcome || i.disposition ? el("div", { class: "small" },
      [i.disposition, i.outcome].filter(Boolean).join(" — ")) : null,
    i.complaint ? el("span", { class: "badge state-missed" }, "complaint") : null);
}
