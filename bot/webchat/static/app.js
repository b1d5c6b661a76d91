/* snakkes web chat.
 *
 * Protocol (JSON frames over one WebSocket at /ws):
 *   out: hello {lang} · message {id, text} · choice {id, data} · language {id, lang}
 *        ack {seqs}
 *   in:  ready {known, lang, pending} · message {seq, text, choices} · ack {id, lang}
 *        error {id, code, retry_after?}
 * Every frame we send carries a random id and stays queued (in sessionStorage) until the
 * server acks it; after a reconnect the whole queue is sent again and the server, which
 * claims each id once, acks a repeat without handling it twice. Every message we receive
 * has a seq; we ack it, and drop a seq we have already shown.
 */
(function () {
  "use strict";

  var TEXTS = {
    da: {
      title: "snakkes",
      tagline: "Anonym chat. Du skriver med en bot – ikke et menneske.",
      toolsLabel: "Valg",
      quickExit: "Hurtig exit",
      quickExitHint: "Forlad siden med det samme",
      otherLanguage: "English",
      switchLanguage: "Switch to English",
      erase: "Slet alt og forlad",
      skip: "Spring til skrivefeltet",
      logLabel: "Samtale med snakkes",
      composeLabel: "Din besked",
      send: "Send",
      hint: "Enter sender. Shift+Enter giver en ny linje.",
      footer: "Ingen konto og intet navn. Er du i fare, så ring 112.",
      eraseTitle: "Slet alt om dig?",
      eraseBody: "Alt, hvad snakkes ved om dig, bliver slettet med det samme, og samtalen forsvinder fra siden. Det kan ikke fortrydes.",
      eraseYes: "Ja, slet alt",
      eraseNo: "Nej, tilbage",
      erasedTitle: "Alt om dig er slettet",
      erasedBody: "Du er altid velkommen tilbage.",
      startAgain: "Start en ny samtale",
      eraseFailed: "Det lykkedes ikke at slette. Prøv igen om lidt.",
      bot: "snakkes skriver:",
      me: "Du skrev:",
      choicesLabel: "Svarmuligheder",
      connecting: "Forbinder …",
      offline: "Forbindelsen er væk. Jeg prøver igen – det, du skriver, bliver sendt, når den er tilbage.",
      slowDown: "Du skriver hurtigt – jeg sender om et øjeblik.",
      sending: "sender …",
      tooLong: "Ikke sendt: højst {limit} tegn.",
      notSent: "Ikke sendt.",
      typing: "Den frivillige skriver …"
    },
    en: {
      title: "snakkes",
      tagline: "Anonymous chat. You are writing with a bot – not a human.",
      toolsLabel: "Options",
      quickExit: "Quick exit",
      quickExitHint: "Leave this page at once",
      otherLanguage: "Dansk",
      switchLanguage: "Skift til dansk",
      erase: "Erase everything and leave",
      skip: "Skip to the message field",
      logLabel: "Conversation with snakkes",
      composeLabel: "Your message",
      send: "Send",
      hint: "Enter sends. Shift+Enter starts a new line.",
      footer: "No account and no name. If you are in danger, call 112.",
      eraseTitle: "Erase everything about you?",
      eraseBody: "Everything snakkes knows about you is deleted at once, and the conversation disappears from this page. This cannot be undone.",
      eraseYes: "Yes, erase everything",
      eraseNo: "No, go back",
      erasedTitle: "Everything about you is erased",
      erasedBody: "You are always welcome back.",
      startAgain: "Start a new conversation",
      eraseFailed: "Erasing did not work. Please try again in a moment.",
      bot: "snakkes wrote:",
      me: "You wrote:",
      choicesLabel: "Answers",
      connecting: "Connecting …",
      offline: "The connection is gone. I'm trying again – what you write is sent when it is back.",
      slowDown: "You're writing fast – I'll send it in a moment.",
      sending: "sending …",
      tooLong: "Not sent: at most {limit} characters.",
      notSent: "Not sent.",
      typing: "The volunteer is writing …"
    }
  };
  var LANGS = ["da", "en"];
  var NEUTRAL_SITE = "https://www.dr.dk/";
  var STORE = "snakkes";
  var MAX_SEEN = 500;
  var ACK_TIMEOUT_MS = 20000;
  var CLOSE_ERASED = 4000;
  var CLOSE_NO_SESSION = 4401;
  var TYPING_EVERY_MS = 3000; // the server passes on no more than this anyway
  var TYPING_SHOWN_MS = 6000;

  var $ = function (id) { return document.getElementById(id); };
  var state = load();
  var socket = null;
  var stopped = false;
  var attempts = 0;
  var reconnectTimer = null;
  var resendTimer = null;
  var ackTimer = null;
  var seen = new Set(state.seen);
  var typedAt = 0;
  var typingTimer = null;

  function load() {
    var fresh = { lang: null, log: [], queue: [], seen: [] };
    try {
      var saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
      if (saved && Array.isArray(saved.log) && Array.isArray(saved.queue)) {
        return Object.assign(fresh, saved);
      }
    } catch (e) { /* storage off or damaged: start afresh */ }
    return fresh;
  }

  function save() {
    state.seen = Array.from(seen).slice(-MAX_SEEN);
    try { sessionStorage.setItem(STORE, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function t(key, values) {
    var text = (TEXTS[state.lang] || TEXTS.da)[key] || TEXTS.da[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.replace("{" + name + "}", values[name]); });
    return text;
  }

  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  // -- language ---------------------------------------------------------------------------
  function applyLanguage(lang) {
    if (LANGS.indexOf(lang) < 0) { return; }
    state.lang = lang;
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t(el.dataset.t); });
    document.querySelectorAll("[data-t-label]").forEach(function (el) {
      el.setAttribute("aria-label", t(el.dataset.tLabel));
    });
    document.querySelectorAll("[data-t-title]").forEach(function (el) {
      el.setAttribute("title", t(el.dataset.tTitle));
    });
    var other = lang === "da" ? "en" : "da";
    $("switch-language").setAttribute("lang", other);
    document.title = lang === "da" ? "snakkes – anonym chat" : "snakkes – anonymous chat";
    document.querySelectorAll(".who").forEach(function (el) { el.textContent = t(el.dataset.who); });
    document.querySelectorAll(".choices").forEach(function (el) { el.setAttribute("aria-label", t("choicesLabel")); });
    renderMetas();
    save();
  }

  function switchLanguage() {
    var lang = state.lang === "da" ? "en" : "da";
    applyLanguage(lang);
    enqueue({ type: "language", lang: lang });
  }

  // -- the log ----------------------------------------------------------------------------
  function renderEntry(entry) {
    var item = document.createElement("div");
    item.className = "msg " + entry.who;
    var who = document.createElement("span");
    who.className = "who visually-hidden";
    who.dataset.who = entry.who;
    who.textContent = t(entry.who);
    item.appendChild(who);
    var bubble = document.createElement("p");
    bubble.className = "bubble";
    bubble.textContent = entry.text;
    item.appendChild(bubble);
    if (entry.who === "me") {
      var meta = document.createElement("span");
      meta.className = "meta";
      item.appendChild(meta);
      item.dataset.id = entry.id;
    }
    if (entry.choices && entry.choices.length) {
      item.appendChild(renderChoices(entry));
    }
    $("log").appendChild(item);
    renderMeta(entry);
    reveal(item);
  }

  // The newest message in view with the field to write in: scrolled to the end, or, when
  // it is taller than the conversation's area (many buttons on a small screen), to its
  // beginning, so its words are read first and its buttons are a scroll away.
  function reveal(item) {
    var log = $("log");
    var bottom = log.scrollHeight - log.clientHeight;
    var top = Math.max(0, item.offsetTop - 8);
    log.scrollTop = item.offsetHeight + 8 > log.clientHeight ? Math.min(top, bottom) : bottom;
  }

  function renderChoices(entry) {
    var group = document.createElement("div");
    group.className = "choices";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t("choicesLabel"));
    entry.choices.forEach(function (row) {
      row.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "choice";
        button.textContent = choice.label;
        if (entry.used) {
          button.setAttribute("aria-disabled", "true");
          if (entry.used === choice.data) { button.setAttribute("aria-pressed", "true"); }
        }
        button.addEventListener("click", function () { choose(entry, choice, group, button); });
        group.appendChild(button);
      });
    });
    return group;
  }

  function renderMeta(entry) {
    if (entry.who !== "me" || !entry.id) { return; }
    var item = $("log").querySelector('[data-id="' + entry.id + '"] .meta');
    if (!item) { return; }
    item.classList.toggle("failed", entry.status === "failed");
    if (entry.status === "sending") { item.textContent = t("sending"); }
    else if (entry.status === "failed") { item.textContent = entry.note || t("notSent"); }
    else { item.textContent = ""; }
  }

  function renderMetas() { state.log.forEach(renderMeta); }

  function renderAll() {
    $("log").textContent = "";
    state.log.forEach(renderEntry);
  }

  function note(text) {
    var entry = { who: "bot", text: text, local: true };
    state.log.push(entry);
    renderEntry(entry);
    save();
  }

  function entryById(id) {
    for (var i = state.log.length - 1; i >= 0; i -= 1) {
      if (state.log[i].id === id) { return state.log[i]; }
    }
    return null;
  }

  // -- sending ----------------------------------------------------------------------------
  function enqueue(frame, shown) {
    frame.id = newId();
    state.queue.push(frame);
    if (shown) {
      var entry = { who: "me", text: shown, id: frame.id, status: "sending" };
      state.log.push(entry);
      renderEntry(entry);
    }
    save();
    transmit(frame);
  }

  function transmit(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN || resendTimer) { return; }
    socket.send(JSON.stringify(frame));
    if (!ackTimer) { ackTimer = setTimeout(onAckTimeout, ACK_TIMEOUT_MS); }
  }

  function flush() {
    state.queue.forEach(transmit);
  }

  function onAckTimeout() {
    ackTimer = null;
    // Sent, but no answer: the connection may be dead without knowing it. Start over.
    if (state.queue.length && socket) { socket.close(3000, "ack timeout"); }
  }

  function resendAfter(seconds) {
    if (resendTimer) { return; }
    resendTimer = setTimeout(function () { resendTimer = null; flush(); }, Math.max(0.2, seconds) * 1000);
  }

  function sendText(event) {
    if (event) { event.preventDefault(); }
    var field = $("compose-text");
    var text = field.value;
    if (!text.trim()) { return; }
    field.value = "";
    enqueue({ type: "message", text: text }, text);
    field.focus();
  }

  // Typing: only the fact goes to the volunteer, never what is written.
  function typed() {
    var now = Date.now();
    if (!$("compose-text").value.trim() || now - typedAt < TYPING_EVERY_MS) { return; }
    if (!socket || socket.readyState !== WebSocket.OPEN) { return; }
    typedAt = now;
    socket.send(JSON.stringify({ type: "typing" }));
  }

  function showTyping() {
    $("typing").textContent = t("typing");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typingTimer = null;
    $("typing").textContent = "";
  }

  function choose(entry, choice, group, button) {
    if (entry.used) { return; }
    entry.used = choice.data;
    group.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-disabled", "true"); });
    button.setAttribute("aria-pressed", "true");
    enqueue({ type: "choice", data: choice.data }, choice.label);
  }

  // -- receiving --------------------------------------------------------------------------
  function onFrame(event) {
    var frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (frame.type === "message") { onMessage(frame); }
    else if (frame.type === "ack") { onAck(frame); }
    else if (frame.type === "ready") { onReady(frame); }
    else if (frame.type === "error") { onError(frame); }
    else if (frame.type === "typing") { showTyping(); }
  }

  function onMessage(frame) {
    var seq = frame.seq;
    if (seq !== null && seq !== undefined) {
      if (seen.has(seq)) { ackSeqs([seq]); return; }
      seen.add(seq);
    }
    hideTyping();
    var entry = { who: "bot", text: frame.text, choices: frame.choices || [], seq: seq };
    state.log.push(entry);
    renderEntry(entry);
    save();
    if (seq !== null && seq !== undefined) { ackSeqs([seq]); }
  }

  function ackSeqs(seqs) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "ack", seqs: seqs }));
    }
  }

  function dequeue(id) {
    var before = state.queue.length;
    state.queue = state.queue.filter(function (frame) { return frame.id !== id; });
    if (ackTimer) { clearTimeout(ackTimer); ackTimer = null; }
    if (state.queue.length) { ackTimer = setTimeout(onAckTimeout, ACK_TIMEOUT_MS); }
    return before !== state.queue.length;
  }

  function onAck(frame) {
    if (!dequeue(frame.id)) { return; }
    if (!resendTimer) { setStatus(""); }
    var entry = entryById(frame.id);
    if (entry) { entry.status = "sent"; renderMeta(entry); }
    var switching = state.queue.some(function (f) { return f.type === "language"; });
    if (frame.lang && frame.lang !== state.lang && !switching) { applyLanguage(frame.lang); }
    save();
  }

  function onReady(frame) {
    attempts = 0;
    setStatus("");
    if (frame.known && frame.lang && frame.lang !== state.lang) { applyLanguage(frame.lang); }
    if (!state.log.length && !state.queue.length && !frame.pending) {
      // A first visit, like Telegram's Start button: the bot introduces itself.
      enqueue({ type: "message", text: "/start" });
    }
  }

  function onError(frame) {
    if (frame.code === "rate_limited") {
      setStatus(t("slowDown"));
      resendAfter(frame.retry_after || 1);
      return;
    }
    if (frame.code === "failed") { resendAfter(2); return; }
    if (!frame.id || !dequeue(frame.id)) { return; }
    var entry = entryById(frame.id);
    if (entry) {
      entry.status = "failed";
      entry.note = frame.code === "too_long" ? t("tooLong", { limit: frame.limit }) : t("notSent");
      renderMeta(entry);
    }
    save();
  }

  // -- the connection ---------------------------------------------------------------------
  function setStatus(text, offline) {
    var el = $("status");
    if (el.textContent !== text) { el.textContent = text; }
    el.classList.toggle("offline", Boolean(offline));
  }

  function connect() {
    if (stopped) { return; }
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/ws");
    socket = ws;
    ws.addEventListener("open", function () {
      ws.send(JSON.stringify({ type: "hello", lang: state.lang }));
      flush();
    });
    ws.addEventListener("message", onFrame);
    ws.addEventListener("close", function (event) { onClose(ws, event); });
  }

  function onClose(ws, event) {
    if (socket !== ws) { return; }
    socket = null;
    if (ackTimer) { clearTimeout(ackTimer); ackTimer = null; }
    if (stopped) { return; }
    if (event.code === CLOSE_ERASED) { showErased(); return; }
    if (event.code === CLOSE_NO_SESSION) {
      fetch("/session", { method: "POST", headers: { "X-Snakkes": "1" }, credentials: "same-origin" })
        .catch(function () { return null; })
        .then(scheduleReconnect);
      return;
    }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (stopped || reconnectTimer) { return; }
    if (attempts > 0) { setStatus(t("offline"), true); }
    var delay = Math.min(10000, 300 * Math.pow(2, attempts)) * (0.75 + Math.random() / 2);
    attempts += 1;
    reconnectTimer = setTimeout(connect, delay);
  }

  function reconnectNow() {
    if (!socket && !stopped) { attempts = 0; connect(); }
  }

  // -- leaving ----------------------------------------------------------------------------
  function wipe() {
    stopped = true;
    clearTimeout(reconnectTimer);
    clearTimeout(resendTimer);
    clearTimeout(ackTimer);
    if (socket) { try { socket.close(1000, "bye"); } catch (e) { /* closing anyway */ } }
    socket = null;
    try { sessionStorage.clear(); } catch (e) { /* nothing kept */ }
    state = { lang: state.lang, log: [], queue: [], seen: [] };
    seen = new Set();
    $("log").textContent = "";
  }

  function quickExit() {
    wipe();
    document.title = "";
    document.body.textContent = "";
    location.replace(NEUTRAL_SITE);
  }

  function showErased() {
    wipe();
    $("chat").hidden = true;
    $("erase").hidden = true;
    $("switch-language").hidden = true;
    $("erased").hidden = false;
    $("erased-heading").focus();
  }

  function eraseEverything() {
    var button = $("erase-yes");
    button.disabled = true;
    fetch("/erase", { method: "POST", headers: { "X-Snakkes": "1" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("erase failed"); }
        $("erase-dialog").close();
        showErased();
      })
      .catch(function () {
        $("erase-dialog").close();
        setStatus(t("eraseFailed"), true);
      })
      .then(function () { button.disabled = false; });
  }

  // -- start ------------------------------------------------------------------------------
  function start() {
    var pageLang = document.documentElement.lang;
    applyLanguage(state.lang || (LANGS.indexOf(pageLang) >= 0 ? pageLang : "da"));
    renderAll();
    $("compose").addEventListener("submit", sendText);
    $("compose-text").addEventListener("input", typed);
    $("compose-text").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { sendText(event); }
    });
    $("quick-exit").addEventListener("click", quickExit);
    $("switch-language").addEventListener("click", switchLanguage);
    $("erase").addEventListener("click", function () { $("erase-dialog").showModal(); });
    $("erase-no").addEventListener("click", function () { $("erase-dialog").close(); });
    $("erase-yes").addEventListener("click", eraseEverything);
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { reconnectNow(); }
    });
    setStatus(t("connecting"));
    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
