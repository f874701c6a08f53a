// The open interaction in the console: its conversation as its channel shows it (a call's
// facts, a mail thread with the quoted history folded, a live chat, a fax's pages), the reply
// composer where the channel takes one, and the transfer and wrap-up controls. Mail is stored
// without the quoted history the sender's client added (the thread is kept as its own mails),
// so a thread shows its latest mail with the earlier ones folded, and any quoting still in a
// mail (a forward, a client the reply parser missed) folded inside it.
import { api, CHANNELS, duration, el, tierBadge, toast, when } from "./common.js";

const WHO = { customer: "customer", visitor: "customer", agent: "agent", system: "system",
  bot: "system" };
const QUOTE_START = /^(>|On .+wrote:$|-----Original Message-----|From: .+)/;

export class WorkView {
  constructor(root, side, hooks) {
    this.root = root;
    this.side = side;
    this.hooks = hooks;
    this.work = null;
    this.thread = null;
    this.composer = null;
    this.typingNote = null;
    this.lastTyping = 0;
    this.seen = new Set();
  }

  clear() {
    this.work = null;
    this.root.replaceChildren(el("p", { class: "empty" },
      "Nothing open. Go available to receive offers; accept one with ", el("kbd", {}, "A"), "."));
  }

  async show(work, desk) {
    this.work = work;
    this.seen = new Set();
    const detail = await api("GET", `/api/v1/interactions/${work.id}`);
    if (this.work !== work) return;  // another tab was opened meanwhile
    this.detail = detail;
    this.thread = el("div", { class: "thread", role: "log", "aria-label": "Conversation" });
    this.typingNote = el("div", { class: "typing", "aria-live": "polite" });
    const parts = [this.head(work, detail)];
    if (work.channel === "voice") parts.push(this.call(work, detail));
    if (work.channel === "fax") parts.push(this.fax(detail));
    parts.push(this.thread, this.typingNote);
    const threaded = work.channel === "email" || work.channel === "fax";
    // A mail thread shows its latest mail; the earlier ones are folded above it.
    const earlier = threaded ? detail.messages.slice(0, -1) : [];
    if (earlier.length) {
      this.thread.append(el("details", { class: "history" }, el("summary", {},
        `Earlier in this thread (${earlier.length} ${earlier.length === 1 ? "mail" : "mails"})`),
      earlier.map((m) => mail(WHO[m.author] || "system", m.body, m.created_at))));
    }
    for (const message of detail.messages.slice(earlier.length)) this.append(message);
    if (work.status === "active") parts.push(this.reply(work), this.controls(work));
    else parts.push(el("p", { class: "muted" }, work.status === "wrap_up"
      ? "In wrap-up: the time after the interaction, before the next offer." : ""));
    this.root.replaceChildren(...parts);
    this.thread.scrollTop = this.thread.scrollHeight;
    this.side.show(work.customer_id, work.id);
  }

  head(work, detail) {
    return el("div", {},
      el("div", { class: "conv-head" },
        el("h3", {}, work.customer_name), tierBadge(work.tier),
        el("span", { class: "ch" }, CHANNELS[work.channel]),
        el("span", { class: "badge" }, work.status.replace("_", "-"))),
      el("div", { class: "small muted" }, detail.subject || "(no subject)",
        " · waited ", duration(secondsBetween(work.queued_at, work.answered_at)),
        detail.topic ? ` · topic ${detail.topic}` : ""));
  }

  call(work, detail) {
    const attrs = detail.attributes || {};
    const path = (attrs.ivr_path || []).join(" › ") || "—";
    const talk = el("dd", {}, "—");
    const tick = () => {
      if (!talk.isConnected && this.work !== work) return;
      talk.textContent = duration(secondsBetween(work.answered_at, null));
      setTimeout(tick, 1000);
    };
    if (work.answered_at) setTimeout(tick, 0);
    return el("dl", { class: "facts" },
      el("dt", {}, "Caller"), el("dd", {}, (detail.subject || "").replace(/^Call from /, "")),
      el("dt", {}, "IVR path"), el("dd", {}, path),
      el("dt", {}, "Waited"), el("dd", {}, duration(secondsBetween(work.queued_at, work.answered_at))),
      el("dt", {}, "On the call"), talk,
      el("dt", {}, "Call"), el("dd", {},
        "Put through to your phone. End it here once you wrap up, or hang up your phone."));
  }

  fax(detail) {
    const documents = detail.attachments.filter((a) => /pdf|tiff/.test(a.content_type));
    const pages = Number((detail.attributes || {}).pages) || 1;
    return el("div", {}, documents.map((doc) => el("figure", {},
      el("div", { class: "pages" }, Array.from({ length: Math.min(pages, 12) }, (_, i) =>
        el("a", { href: `/api/v1/attachments/${doc.id}/pages/${i + 1}`, target: "_blank" },
          el("img", { src: `/api/v1/attachments/${doc.id}/pages/${i + 1}`, loading: "lazy",
            alt: `Page ${i + 1} of ${doc.filename}` })))),
      el("figcaption", { class: "small" },
        el("a", { href: `/api/v1/attachments/${doc.id}` }, doc.filename), ` · ${pages} page(s)`))));
  }

  append(message) {
    const id = message.id ?? message.seq;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    const author = WHO[message.author] || "system";
    const body = message.body ?? message.text;
    const at = message.created_at ?? message.at;
    if (this.work.channel === "email" || this.work.channel === "fax") {
      this.thread.append(mail(author, body, at));
    } else {
      this.thread.append(el("div", { class: `msg ${author}` }, body,
        el("span", { class: "meta" }, `${labelOf(author)} · ${when(at)}`)));
    }
    this.thread.scrollTop = this.thread.scrollHeight;
  }

  reply(work) {
    if (work.channel === "voice") return el("div");
    const box = el("textarea", { id: "reply", rows: "4", "aria-label": "Reply",
      placeholder: work.channel === "chat" ? "Write to the visitor (Ctrl+Enter sends)"
        : "Write your reply (Ctrl+Enter sends); it goes on the mail thread" });
    this.composer = box;
    const send = el("button", { class: "primary", type: "submit" }, "Send");
    const form = el("form", { class: "composer", "aria-label": "Reply" }, box,
      el("div", { class: "actions" }, send,
        work.channel === "fax" ? el("input", { type: "file", name: "document",
          accept: "application/pdf,image/tiff", "aria-label": "Document to fax" }) : null,
        el("span", { class: "small muted" }, "Ctrl+Enter sends")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      send.disabled = true;
      try {
        if (work.channel === "chat" && text) {
          await api("POST", `/api/v1/interactions/${work.id}/chat`, { text });
        } else if (work.channel === "email" && text) {
          await api("POST", `/api/v1/interactions/${work.id}/reply`, { body: text });
          toast("Reply sent on the thread.");
          this.hooks.reload();
          this.show(work);
        } else if (work.channel === "fax") {
          const file = form.querySelector("input[type=file]").files[0];
          if (!file) throw new Error("choose a PDF or TIFF to fax");
          const data = new FormData();
          data.append("document", file);
          if (text) data.append("note", text);
          await api("POST", `/api/v1/interactions/${work.id}/fax`, data);
          toast("Fax queued for sending.");
          this.show(work);
        } else {
          return;
        }
        box.value = "";
      } catch (error) {
        toast(`Not sent: ${error.message}`);
      } finally {
        send.disabled = false;
      }
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      } else if (work.channel === "chat" && Date.now() - this.lastTyping > 3000) {
        this.lastTyping = Date.now();
        api("POST", `/api/v1/interactions/${work.id}/chat/typing`).catch(() => {});
      }
    });
    return form;
  }

  // A live call is put through by Twilio to the agent's phone: it can be ended from here
  // (after its wrap-up is recorded), not moved to someone else.
  controls(work) {
    const voice = work.channel === "voice";
    return el("div", { class: "actions", role: "group", "aria-label": "Interaction controls" },
      voice ? null : el("button", { onclick: () => this.hooks.transfer() },
        "Transfer ", el("kbd", {}, "T")),
      el("button", { class: "primary", onclick: () => this.hooks.wrapUp() },
        voice ? "End call and wrap up " : "Wrap up ", el("kbd", {}, "W")));
  }

  focusComposer() {
    this.composer?.focus();
  }

  insert(text) {
    if (!this.composer) return toast("Open an interaction you can reply to first.");
    const box = this.composer;
    const at = box.selectionStart ?? box.value.length;
    box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd ?? at);
    box.focus();
  }

  event(event) {
    if (!this.work || event.interaction_id !== this.work.id) return;
    if (event.type === "chat.line") {
      this.typingNote.textContent = "";
      this.append(event.line);
    } else if (event.type === "chat.typing" && event.by === "visitor") {
      this.typingNote.textContent = "The customer is typing…";
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => { this.typingNote.textContent = ""; }, 4000);
    } else if (event.type === "interaction.message" && this.work.channel !== "chat") {
      this.show(this.work);  // a new mail on the thread
    }
  }
}

function mail(author, body, at) {
  const lines = String(body).split("\n");
  const cut = lines.findIndex((line) => QUOTE_START.test(line.trim()));
  const own = cut === -1 ? lines : lines.slice(0, cut);
  const quoted = cut === -1 ? [] : lines.slice(cut);
  return el("article", { class: `mail ${author === "customer" ? "in" : "out"}` },
    el("div", { class: "meta" }, `${labelOf(author)} · ${when(at)}`),
    el("pre", {}, own.join("\n").trim()),
    quoted.length ? el("details", {}, el("summary", {}, `Quoted history (${quoted.length} lines)`),
      el("pre", {}, quoted.join("\n"))) : null);
}

function labelOf(author) {
  return { customer: "Customer", agent: "You / agent", system: "Assistant" }[author] || author;
}

function secondsBetween(from, to) {
  if (!from) return null;
  return ((to ? new Date(to) : new Date()) - new Date(from)) / 1000;
}
