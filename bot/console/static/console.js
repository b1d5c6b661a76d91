// The volunteers' console: one WebSocket to /console/ws, state in, moves out.
// Nothing is kept in the browser's storage: what the page shows lives in this tab only and
// comes back from the server on reconnect.
"use strict";

(function () {
  const root = document.getElementById("console");
  if (!root) return;
  const T = document.getElementById("texts").dataset;
  const csrf = root.dataset.csrf;
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let retry = 500;
  let state = null;
  let received = 0; // when the last state frame came (the page counts waiting time on)
  let refs = 0;

  function t(key, values) {
    let text = T[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function announce(text) {
    const region = $("announce");
    region.textContent = "";
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  function notice(text) {
    $("notice").textContent = text;
  }

  // -- the socket -----------------------------------------------------------------------
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/console/ws");
    socket.addEventListener("open", () => {
      retry = 500;
      notice("");
      socket.send(JSON.stringify({ type: "hello", csrf: csrf }));
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (error) { return; }
      if (frame.type === "state") render(frame);
      else if (frame.type === "line") addLine(frame.id, frame.line);
      else if (frame.type === "result") onResult(frame);
      else if (frame.type === "typing") showTyping(frame.id);
      else if (frame.type === "whisper") {
        const text = t("whisper", { name: frame.from, text: frame.text });
        notice(text);
      }
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4403) { location.assign("/console/login"); return; }
      notice(t("connectionLost"));
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    });
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    notice(t("connectionLost"));
    return false;
  }

  // -- typing: the fact only, never the text --------------------------------------------
  const TYPING_EVERY_MS = 4000; // the server drops more frequent notices anyway
  const TYPING_SHOWN_MS = 6000;
  const typedAt = new Map();
  const typingTimers = new Map();

  function typed(id, input) {
    if (!input.value.trim()) return;
    const now = Date.now();
    if (now - (typedAt.get(id) || 0) < TYPING_EVERY_MS) return;
    typedAt.set(id, now);
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "typing", id: id }));
    }
  }

  function showTyping(id) {
    const section = document.querySelector(`section.talk[data-id="${id}"]`);
    const talk = state && state.talks.find((each) => each.card.id === id);
    if (!section || !talk) return;
    section.querySelector(".typing").textContent = t("typing", { name: talk.card.name });
    window.clearTimeout(typingTimers.get(id));
    typingTimers.set(id, window.setTimeout(() => hideTyping(section, id), TYPING_SHOWN_MS));
  }

  function hideTyping(section, id) {
    window.clearTimeout(typingTimers.get(id));
    typingTimers.delete(id);
    section.querySelector(".typing").textContent = "";
  }

  function onResult(frame) {
    if (frame.ok) return;
    const key = {
      gone: "resultGone", full: "resultFull", closed: "resultClosed",
      not_yours: "resultNotYours", transfer_none: "transferNone", nobody: "resultGone",
    }[frame.code] || "resultFailed";
    notice(t(key));
  }

  // -- rendering ------------------------------------------------------------------------
  function render(next) {
    const first = state === null;
    state = next;
    received = Date.now();
    renderStatus();
    renderQueue();
    renderDebriefs();
    renderTalks(first);
  }

  function renderStatus() {
    const button = $("toggle-available");
    button.setAttribute("aria-pressed", state.available ? "true" : "false");
    button.textContent = state.available ? t("away") : t("available");
    let text = state.available ? t("statusAvailable") : t("statusAway");
    if (!state.open) text += " " + t("closed");
    $("status-text").textContent = text;
  }

  function minutes(seconds) {
    return Math.floor(seconds / 60);
  }

  function cardLines(card) {
    const parts = [];
    if (card.crisis) parts.push(el("strong", { class: "crisis", text: t("crisis") }));
    parts.push(el("span", { class: "facts",
      text: [card.language, card.age_band, card.channel].join(" · ") }));
    return parts;
  }

  function notes(card) {
    const list = el("div", { class: "notes" });
    if (card.note) list.append(el("p", {}, el("strong", { text: t("note") + ": " }), card.note));
    if (card.handback_note) {
      list.append(el("p", {}, el("strong", { text: t("handbackNote") + ": " }),
        card.handback_note));
    }
    return list;
  }

  function renderQueue() {
    const list = $("queue");
    list.replaceChildren();
    if (!state.queue.length) {
      list.append(el("li", { class: "empty", text: t("queueEmpty") }));
      return;
    }
    for (const card of state.queue) {
      const item = el("li", { class: card.crisis ? "card crisis-card" : "card" },
        el("h3", { text: card.name }),
        ...cardLines(card),
        el("p", { class: "waited", "data-seconds": card.waiting_seconds,
          text: t("waited", { minutes: minutes(card.waiting_seconds) }) }),
        notes(card),
        el("button", { type: "button", class: "take", "data-id": card.id,
          "aria-label": t("take") + ": " + card.name, text: t("take"),
          onclick: () => send({ type: "take", id: card.id }) }));
      list.append(item);
    }
  }

  function renderDebriefs() {
    const box = $("debriefs");
    const shown = new Set(state.debriefs.map((card) => String(card.id)));
    for (const form of Array.from(box.children)) {
      if (!shown.has(form.dataset.id)) form.remove();
    }
    for (const card of state.debriefs) {
      if (box.querySelector(`[data-id="${card.id}"]`)) continue;
      box.append(debriefForm(card));
    }
  }

  function radios(name, legend, options) {
    const set = el("fieldset", {}, el("legend", { text: legend }));
    options.forEach(([value, label], index) => {
      const id = `${name}-${value}`;
      set.append(el("span", { class: "choice" },
        el("input", { type: "radio", id: id, name: name.split("-")[0], value: value,
          required: index === 0 }),
        el("label", { for: id, text: label })));
    });
    return set;
  }

  function debriefForm(card) {
    const id = card.id;
    const topics = Object.entries(T)
      .filter(([key]) => key.startsWith("topic") && key.length > 5)
      .map(([key, label]) => [key.slice(5).toLowerCase(), label]);
    const yesNo = [["yes", t("yes")], ["no", t("no")]];
    const form = el("form", { class: "debrief", "data-id": id,
      "aria-labelledby": `debrief-${id}-heading` },
      el("h3", { id: `debrief-${id}-heading`, text: t("debriefHeading", { name: card.name }) }),
      radios(`topic-${id}`, t("debriefTopic"), topics),
      radios(`crisis-${id}`, t("debriefCrisis"), yesNo),
      radios(`follow-${id}`, t("debriefFollowUp"), yesNo),
      el("button", { type: "submit", text: t("debriefSend") }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(form);
      send({ type: "debrief", id: id, topic: data.get("topic"),
        crisis: data.get("crisis") === "yes", follow_up: data.get("follow") === "yes" });
      announce(t("thanks"));
    });
    return form;
  }

  function renderTalks(first) {
    const box = $("talks");
    const ids = new Set(state.talks.map((talk) => String(talk.card.id)));
    for (const section of Array.from(box.querySelectorAll("section.talk"))) {
      if (!ids.has(section.dataset.id)) {
        section.remove();
        announce(t("ended"));
      }
    }
    const empty = box.querySelector(".empty");
    if (!state.talks.length && !empty) box.append(el("p", { class: "empty", text: t("talksEmpty") }));
    if (state.talks.length && empty) empty.remove();
    for (const talk of state.talks) {
      let section = box.querySelector(`section.talk[data-id="${talk.card.id}"]`);
      const fresh = !section;
      if (fresh) {
        section = talkSection(talk);
        box.append(section);
      }
      updateTalk(section, talk, !fresh || first);
      if (fresh && !first) section.querySelector("textarea").focus();
    }
  }

  function talkSection(talk) {
    const id = talk.card.id;
    const input = el("textarea", { id: `say-${id}`, name: "text", rows: "3", maxlength: "4096",
      required: true });
    const canned = el("select", { id: `canned-${id}`, class: "canned" });
    canned.addEventListener("change", () => {
      if (canned.value) {
        input.value = canned.value;
        canned.value = "";
        input.focus();
      }
    });
    const form = el("form", { class: "compose" },
      el("label", { for: `say-${id}`, text: t("messageLabel", { name: talk.card.name }) }),
      input,
      el("label", { for: `canned-${id}`, class: "canned-label", text: t("canned") }),
      canned,
      el("button", { type: "submit", text: t("send") }));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      refs += 1;
      if (send({ type: "say", id: id, text: text, ref: refs })) input.value = "";
    });
    input.addEventListener("input", () => typed(id, input));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    const note = el("input", { id: `note-${id}`, maxlength: "500" });
    const back = el("form", { class: "more", hidden: true },
      el("label", { for: `note-${id}`, text: t("backNote") }), note,
      el("button", { type: "submit", text: t("confirm") }));
    back.addEventListener("submit", (event) => {
      event.preventDefault();
      send({ type: "back", id: id, note: note.value });
    });
    const to = el("select", { id: `to-${id}`, class: "to" });
    const transferNote = el("input", { id: `tnote-${id}`, maxlength: "500" });
    const transfer = el("form", { class: "more", hidden: true },
      el("label", { for: `to-${id}`, text: t("transferTo") }), to,
      el("label", { for: `tnote-${id}`, text: t("transferNote") }), transferNote,
      el("button", { type: "submit", text: t("confirm") }));
    transfer.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!to.value) { notice(t("transferNone")); return; }
      send({ type: "transfer", id: id, to: to.value, note: transferNote.value });
    });
    const reveal = (form) => () => {
      form.hidden = !form.hidden;
      if (!form.hidden) form.querySelector("input, select").focus();
    };
    const actions = el("div", { class: "actions" },
      el("button", { type: "button", class: "end", text: t("end"),
        onclick: () => send({ type: "end", id: id }) }),
      el("button", { type: "button", class: "back", text: t("back"), onclick: reveal(back) }),
      el("button", { type: "button", class: "transfer", text: t("transfer"),
        onclick: reveal(transfer) }),
      el("button", { type: "button", class: "flag", text: t("flag"),
        onclick: () => send({ type: "flag", id: id }) }));
    return el("section", { class: "talk", "data-id": id, "aria-labelledby": `talk-${id}` },
      el("h3", { id: `talk-${id}`, text: talk.card.name }),
      el("p", { class: "card-line" }),
      el("div", { class: "alert", role: "alert" }),
      el("p", { class: "readers", role: "status" }),
      el("p", { class: "quiet", role: "status" }),
      el("div", { class: "card-notes" }),
      el("ol", { class: "transcript", "aria-label": talk.card.name }),
      el("p", { class: "typing", role: "status" }),
      form, actions, back, transfer);
  }

  function addLine(id, line) {
    const section = document.querySelector(`section.talk[data-id="${id}"]`);
    const talk = state && state.talks.find((each) => each.card.id === id);
    if (!section || !talk) return;
    appendLine(section.querySelector(".transcript"), talk.card, line, true);
  }

  function appendLine(list, card, line, quiet) {
    if (list.querySelector(`li[data-id="${line.id}"]`)) return;
    const who = line.sender === "young" ? card.name : t("you");
    list.append(el("li", { class: line.sender, "data-id": line.id },
      el("strong", { text: who + ": " }), line.text));
    if (line.sender === "young") {
      const section = list.closest("section.talk");
      if (section && typingTimers.has(card.id)) hideTyping(section, card.id);
    }
    if (line.sender === "young" && !quiet) {
      announce(t("newMessage", { name: card.name }) + ": " + line.text);
    }
    list.scrollTop = list.scrollHeight;
  }

  function updateTalk(section, talk, quiet) {
    const card = talk.card;
    section.querySelector(".card-line").replaceChildren(...cardLines(card));
    const alert = section.querySelector(".alert");
    alert.textContent = talk.alert;
    alert.className = talk.alert_kind ? "alert " + talk.alert_kind : "alert";
    section.querySelector(".readers").textContent = talk.readers.length
      ? t("readingAlong", { names: talk.readers.join(", ") }) : "";
    section.querySelector(".quiet").textContent = talk.quiet ? t("quiet") : "";
    section.querySelector(".card-notes").replaceChildren(notes(card));
    const flag = section.querySelector("button.flag");
    if (card.flagged) { flag.textContent = t("flagged"); flag.disabled = true; }
    const list = section.querySelector(".transcript");
    for (const line of talk.lines) appendLine(list, card, line, quiet);
    const canned = section.querySelector("select.canned");
    const options = [["", t("cannedNone")], ...talk.canned.map((c) => [c.text, c.title])];
    if (canned.options.length !== options.length) {
      canned.replaceChildren(...options.map(([value, label]) =>
        el("option", { value: value, text: label })));
    }
    canned.hidden = talk.canned.length === 0;
    section.querySelector(".canned-label").hidden = talk.canned.length === 0;
    const to = section.querySelector("select.to");
    const names = state.colleagues;
    if (to.options.length !== names.length || Array.from(to.options).some((o, i) => o.value !== names[i])) {
      to.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
    }
  }

  window.setInterval(() => {
    const passed = (Date.now() - received) / 1000;
    for (const node of document.querySelectorAll("#queue .waited")) {
      const seconds = Number(node.dataset.seconds) + passed;
      node.textContent = t("waited", { minutes: minutes(seconds) });
    }
  }, 20000);

  $("toggle-available").addEventListener("click", () => {
    send({ type: "available", value: !(state && state.available) });
  });
  connect();
})();
