/*
 * The contact-center chat widget. On any page:
 *
 *   <script src="https://support.example.com/widget.js" async
 *           data-title="Chat with us" data-prechat="true"
 *           data-identity-token="(signed by your server for a logged-in user)"></script>
 *
 * A button in the corner opens a chat window. It talks to the service that served this file,
 * over the WebSocket /chat/ws (frames in contactcenter/channels/chat/frames.py). It keeps the
 * visitor id, the chat and whether its window is open in localStorage, so that a reload or
 * another page of the site shows the window as it was with the whole conversation; it
 * reconnects by itself and asks for what it missed. A page of a site the service does not
 * serve says so and does not retry. Every text is shown as text, never as markup. Plain JavaScript: no build
 * step, no other files, styles inside a shadow root so that the page's CSS cannot reach them.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__contactCenterChat) { return; }
  window.__contactCenterChat = true;

  var origin = new URL(script.src).origin;
  var socketUrl = origin.replace(/^http/, "ws") + "/chat/ws";
  var title = script.dataset.title || "Chat with us";
  var prechat = script.dataset.prechat === "true";
  var identityToken = script.dataset.identityToken || null;
  var store = window.localStorage;
  var KEY = "cc-chat:" + origin;

  var state = load();
  var ws = null;
  var retry = 0;
  var greeted = false;
  var refused = false;  // this site may not open the chat: no reconnecting
  var queue = [];  // frames written while the connection was down
  // The last line this page shows: a fresh page (a reload, another page of the site) shows
  // nothing yet and asks for the whole chat; a reconnect asks for what it missed.
  var shownSeq = 0;

  function load() {
    try { return JSON.parse(store.getItem(KEY)) || {}; } catch (e) { return {}; }
  }
  function save() { store.setItem(KEY, JSON.stringify(state)); }

  var host = document.createElement("div");
  host.setAttribute("data-contact-center-chat", "");
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = [
    "<style>",
    ":host{all:initial}[hidden]{display:none!important}",
    ".cc{position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937}",
    ".open{background:#1d4ed8;color:#fff;border:0;border-radius:28px;padding:14px 20px;font:inherit;font-weight:600;box-shadow:0 6px 20px rgba(0,0,0,.2);cursor:pointer}",
    ".open:focus-visible,.cc button:focus-visible,.cc input:focus-visible,.cc textarea:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".win{display:none;flex-direction:column;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 90px);background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.25);overflow:hidden;margin-bottom:12px}",
    ".cc.shown .win{display:flex}.cc.shown .open{display:none}",
    "header{background:#1d4ed8;color:#fff;padding:12px 14px;display:flex;align-items:center;justify-content:space-between}",
    "header h2{margin:0;font-size:16px}header button{background:transparent;border:0;color:#fff;font-size:20px;cursor:pointer}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f8fafc}",
    ".line{max-width:85%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word}",
    ".visitor{align-self:flex-end;background:#1d4ed8;color:#fff}.bot,.agent{align-self:flex-start;background:#e5e7eb}",
    ".agent{background:#dcfce7}.who{font-size:12px;color:#4b5563;margin-bottom:2px}.visitor .who{color:#dbeafe}",
    ".survey{margin:8px 0;padding:8px;border:1px solid #d0d5dd;border-radius:8px}.survey fieldset{border:0;margin:0 0 6px;padding:0}.survey textarea{width:100%;box-sizing:border-box;font:inherit}.survey button[aria-pressed=true]{background:#1d4ed8;color:#fff}",
    ".choices{display:flex;gap:6px;flex-wrap:wrap;margin-top:6px}.choices button{border:1px solid #1d4ed8;background:#fff;color:#1d4ed8;border-radius:14px;padding:4px 10px;font:inherit;cursor:pointer}",
    ".notice{align-self:center;font-size:13px;color:#6b7280}",
    "form.say{display:flex;gap:6px;padding:10px;border-top:1px solid #e5e7eb}",
    "form.say textarea{flex:1;resize:none;border:1px solid #cbd5e1;border-radius:8px;padding:8px;font:inherit;height:40px}",
    "form.say button,form.pre button{background:#1d4ed8;color:#fff;border:0;border-radius:8px;padding:0 14px;font:inherit;cursor:pointer}",
    "form.pre{padding:14px;display:flex;flex-direction:column;gap:8px}form.pre input{border:1px solid #cbd5e1;border-radius:8px;padding:8px;font:inherit}form.pre button{padding:9px}",
    ".status{font-size:12px;color:#6b7280;padding:0 12px 6px}",
    "@media (max-width:480px){.cc{right:8px;bottom:8px}.win{width:calc(100vw - 16px);height:calc(100vh - 80px)}}",
    "</style>",
    "<div class='cc' part='chat'>",
    " <section class='win' role='dialog' aria-label='' aria-modal='false'>",
    "  <header><h2></h2><button type='button' class='close' aria-label='Close the chat window'>&times;</button></header>",
    "  <form class='pre' hidden><label>Your name <input name='name' autocomplete='name'></label>",
    "   <label>Your email (optional) <input name='email' type='email' autocomplete='email'></label>",
    "   <button type='submit'>Start chatting</button></form>",
    "  <div class='log' role='log' aria-live='polite' aria-relevant='additions'></div>",
    "  <div class='status' aria-live='polite'></div>",
    "  <form class='say'>",
    "   <textarea aria-label='Your message' placeholder='Type your question…' maxlength='4000'></textarea>",
    "   <button type='submit'>Send</button></form>",
    "  <div class='choices person' style='padding:0 10px 10px'><button type='button' class='ask'>Talk to a person</button>",
    "   <button type='button' class='mail'>Email me this chat</button>",
    "   <button type='button' class='end'>End chat</button></div>",
    "  <form class='transcript pre' hidden><label>Send the conversation to <input name='email' type='email' required autocomplete='email'></label>",
    "   <button type='submit'>Send it</button></form>",
    " </section>",
    " <button type='button' class='open' aria-haspopup='dialog'></button>",
    "</div>"
  ].join("");
  var $ = function (sel) { return root.querySelector(sel); };
  var box = $(".cc"), win = $(".win"), log = $(".log"), text = $("textarea");
  $("header h2").textContent = title;
  win.setAttribute("aria-label", title);
  $(".open").textContent = title;

  function show(open, quietly) {
    box.classList.toggle("shown", open);
    if (state.open !== open) { state.open = open; save(); }  // a reload keeps the window as it was
    if (open) {
      if (prechat && !state.visitorId && !state.named) {
        $("form.pre").hidden = false;
        if (!quietly) { $("form.pre input").focus(); }
      } else {
        connect();
        if (!quietly) { text.focus(); }
      }
    } else if (!quietly) { $(".open").focus(); }
  }
  $(".open").addEventListener("click", function () { show(true); });
  $(".close").addEventListener("click", function () { show(false); });
  root.addEventListener("keydown", function (e) { if (e.key === "Escape") { show(false); } });

  $("form.pre").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    state.name = form.name.value.trim() || null;
    state.email = form.email.value.trim() || null;
    state.named = true;
    save();
    form.hidden = true;
    connect();
    text.focus();
  });
  $("form.say").addEventListener("submit", function (e) { e.preventDefault(); say(); });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); say(); }
    else { send({ type: "typing" }); }
  });
  $(".ask").addEventListener("click", function () { send({ type: "agent" }); });
  $(".end").addEventListener("click", function () { send({ type: "end" }); });
  $(".mail").addEventListener("click", function () {
    var form = $("form.transcript");
    form.hidden = !form.hidden;
    if (!form.hidden) { form.email.value = state.email || ""; form.email.focus(); }
  });
  $("form.transcript").addEventListener("submit", function (e) {
    e.preventDefault();
    send({ type: "transcript", email: e.target.email.value.trim() });
    e.target.hidden = true;
  });

  function say() {
    var said = text.value.trim();
    if (!said) { return; }
    send({ type: "message", text: said });
    text.value = "";
  }

  function send(frame) {
    if (frame.type === "typing") {
      if (!greeted || send.lastTyping > Date.now() - 3000) { return; }
      send.lastTyping = Date.now();
    }
    if (ws && ws.readyState === 1 && greeted) { ws.send(JSON.stringify(frame)); }
    else if (frame.type !== "typing") { queue.push(frame); connect(); }
  }

  function status(message) { $(".status").textContent = message || ""; }

  function connect() {
    if (refused || (ws && ws.readyState <= 1)) { return; }
    status(retry ? "Reconnecting…" : "Connecting…");
    ws = new WebSocket(socketUrl);
    greeted = false;
    ws.onopen = function () {
      var hello = { type: "hello" };
      if (state.visitorId) { hello.visitor_id = state.visitorId; }
      if (state.chatId) { hello.chat_id = state.chatId; hello.after_seq = shownSeq; }
      if (state.name) { hello.name = state.name; }
      if (state.email) { hello.email = state.email; }
      if (identityToken) { hello.identity_token = identityToken; }
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = function (event) { receive(JSON.parse(event.data)); };
    ws.onclose = function (event) {
      greeted = false;
      if (event.code === 4404) { state.chatId = null; save(); }
      if (event.code === 1008) {  // a page of a site the service does not serve
        refused = true;
        status("Chat is not available on this site.");
        return;
      }
      if (event.code === 1000 || event.code === 4403 || event.code === 4429) {
        status(event.code === 1000 ? "" : (event.reason || "The chat was closed."));
        return;
      }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    };
  }

  function receive(frame) {
    if (frame.type === "welcome") {
      greeted = true;
      retry = 0;
      status("");
      state.visitorId = frame.visitor_id;
      save();
      while (queue.length) { ws.send(JSON.stringify(queue.shift())); }
    } else if (frame.type === "line") {
      if (frame.seq <= shownSeq && frame.chat_id === state.chatId) { return; }
      if (frame.author === "agent") { status(""); }
      if (frame.chat_id !== state.chatId) { state.chatId = frame.chat_id; save(); }
      shownSeq = frame.seq;
      render(frame);
    } else if (frame.type === "ended") {
      notice(frame.status === "self_served" ? "Glad we could help." : "This chat has ended.");
      state.chatId = null;
      save();
      if (frame.survey) { survey(frame.survey); }
    } else if (frame.type === "survey_thanks") {
      var asked = log.querySelector(".survey");
      if (asked) { asked.remove(); }
      notice(SURVEY_WORDS[surveyLanguage].thanks);
    } else if (frame.type === "typing") {
      status("The agent is typing…");
      clearTimeout(receive.typingShown);
      receive.typingShown = setTimeout(function () { status(""); }, 4000);
    } else if (frame.type === "transcript_sent") {
      notice("The conversation is on its way to " + frame.email + ".");
    } else if (frame.type === "error") {
      if (frame.code === "origin") { refused = true; }
      status(frame.message);
    }
  }

  function render(line) {
    var item = document.createElement("div");
    item.className = "line " + line.author;
    var who = document.createElement("div");
    who.className = "who";
    who.textContent = line.author === "visitor" ? "You" : line.author === "agent" ? "Agent" : "Assistant";
    var body = document.createElement("div");
    body.textContent = line.text;  // text, never markup
    item.appendChild(who);
    item.appendChild(body);
    if (line.articles && line.articles.length) {
      var choices = document.createElement("div");
      choices.className = "choices";
      var article = line.articles[0].article_id;
      [["Yes, that helped", true], ["No", false]].forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = choice[0];
        button.addEventListener("click", function () {
          send({ type: "answer", article_id: article, helped: choice[1] });
          choices.remove();
        });
        choices.appendChild(button);
      });
      item.appendChild(choices);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  // The survey the service sends as the chat ends, in the customer's language: each score a
  // row of buttons, the comment a text box; the answers go back on the socket.
  var SURVEY_WORDS = {
    en: { name: "Survey", send: "Send", thanks: "Thank you for your answers.", yes: "Yes", no: "No" },
    zh: { name: "问卷", send: "提交", thanks: "感谢您的反馈。", yes: "是", no: "否" },
  };
  var surveyLanguage = "en";
  function survey(asked) {
    surveyLanguage = SURVEY_WORDS[asked.language] ? asked.language : "en";
    var words = SURVEY_WORDS[surveyLanguage];
    var answers = {};
    var box = document.createElement("form");
    box.className = "survey";
    box.setAttribute("aria-label", words.name);
    function scale(question, low, high) {
      var group = document.createElement("fieldset");
      var legend = document.createElement("legend");
      legend.textContent = question.text;
      group.appendChild(legend);
      var row = document.createElement("div");
      row.className = "choices";
      for (var n = low; n <= high; n += 1) {
        (function (value) {
          var button = document.createElement("button");
          button.type = "button";
          button.textContent = String(value);
          button.setAttribute("aria-pressed", "false");
          button.addEventListener("click", function () {
            answers[question.id] = String(value);
            row.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
            button.setAttribute("aria-pressed", "true");
          });
          row.appendChild(button);
        })(n);
      }
      group.appendChild(row);
      box.appendChild(group);
    }
    if (asked.ask === "solved") {
      var group = document.createElement("fieldset");
      var legend = document.createElement("legend");
      legend.textContent = asked.text;
      group.appendChild(legend);
      var row = document.createElement("div");
      row.className = "choices";
      [["yes", words.yes], ["no", words.no]].forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = choice[1];
        button.addEventListener("click", function () {
          send({ type: "survey", chat_id: asked.chat_id, answers: { solved: choice[0] } });
        });
        row.appendChild(button);
      });
      group.appendChild(row);
      box.appendChild(group);
    } else {
      asked.questions.forEach(function (question) {
        if (question.kind === "comment") {
          var label = document.createElement("label");
          label.textContent = question.text;
          var text = document.createElement("textarea");
          text.rows = 2;
          text.maxLength = 2000;
          text.addEventListener("input", function () { answers[question.id] = text.value; });
          label.appendChild(text);
          box.appendChild(label);
        } else {
          scale(question, question.low, question.high);
        }
      });
      var submit = document.createElement("button");
      submit.type = "submit";
      submit.textContent = words.send;
      box.appendChild(submit);
    }
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      send({ type: "survey", chat_id: asked.chat_id, answers: answers });
    });
    log.appendChild(box);
    log.scrollTop = log.scrollHeight;
  }

  function notice(message) {
    var item = document.createElement("div");
    item.className = "notice";
    item.textContent = message;
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  (document.body || document.documentElement).appendChild(host);
  if (state.open) { show(true, true); }  // the window as the visitor left it
  if (state.chatId) { connect(); }  // a chat in progress goes on across pages, all of it shown
})();
