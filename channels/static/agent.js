/*
 * Atelier agent console. No build step. Every string from the server or a shopper reaches
 * the DOM through textContent or a checked http(s) URL attribute, never as HTML.
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const ROLE_LABEL = { shopper: "Shopper", bot: "Bot", agent: "Agent", system: "Notice" };
  const REASON_LABEL = {
    shopper_request: "asked for a person", repeated_failure: "the bot did not understand",
    frustrated: "frustrated", faq_unanswered: "question the bot could not answer",
    damaged: "a piece arrived damaged", agent: "taken by an agent",
  };
  const BACKOFF_MAX_MS = 10000;

  const state = { agent: null, selected: null, detail: null, seqs: new Set(), ws: null, attempt: 0, retry: null };

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function since(iso) {
    const seconds = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
    if (!Number.isFinite(seconds)) return "";
    if (seconds < 60) return `${seconds} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }

  function clock(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`/agent/api${path}`, init);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401 && path !== "/login" && state.agent) showSignin();
    if (!response.ok) {
      const error = new Error(data && data.error ? data.error.message : `The server answered ${response.status}.`);
      error.code = data && data.error ? data.error.code : null;
      throw error;
    }
    return data;
  }

  // ---- sign-in ---------------------------------------------------------------

  function showSignin() {
    state.agent = null;
    closeSocket();
    $("console").hidden = true;
    $("who").hidden = true;
    $("signin").hidden = false;
    $("login-email").focus();
  }

  function showConsole(agent) {
    state.agent = agent;
    $("agent-name").textContent = `${agent.name} (${agent.email})`;
    $("signin").hidden = true;
    $("who").hidden = false;
    $("console").hidden = false;
    connect();
  }

  async function onLogin(event) {
    event.preventDefault();
    $("login-error").textContent = "";
    try {
      const data = await api("POST", "/login", { email: $("login-email").value, password: $("login-password").value });
      $("login-password").value = "";
      showConsole(data.agent);
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  }

  async function onLogout() {
    try { await api("POST", "/logout"); } catch (e) { /* signed out either way */ }
    state.selected = null;
    $("conversation").hidden = true;
    $("customer").hidden = true;
    showSignin();
  }

  // ---- live socket -------------------------------------------------------------

  function connect() {
    if (state.ws || !state.agent) return;
    const url = new URL("/agent/ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url.href);
    state.ws = ws;
    ws.addEventListener("open", () => {
      state.attempt = 0;
      $("live").textContent = "Live";
      if (state.selected) ws.send(JSON.stringify({ type: "watch", conversation_id: state.selected }));
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "queue") renderQueue(frame);
      else if (frame.type === "message" && frame.conversation_id === state.selected) addMessage(frame);
    });
    ws.addEventListener("close", (event) => {
      if (state.ws !== ws) return;
      state.ws = null;
      $("live").textContent = "Reconnecting…";
      if (event.code === 4401) {
        api("GET", "/me").catch(() => showSignin());
      }
      if (!state.agent) return;
      const delay = Math.min(BACKOFF_MAX_MS, 500 * 2 ** state.attempt++);
      state.retry = setTimeout(() => { state.retry = null; connect(); }, delay);
    });
  }

  function closeSocket() {
    clearTimeout(state.retry);
    state.retry = null;
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close();
  }

  function watch(conversationId) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) {
      state.ws.send(JSON.stringify({ type: "watch", conversation_id: conversationId }));
    }
  }

  // ---- queue -------------------------------------------------------------------

  function queueItem(entry) {
    const summary = [entry.channel, REASON_LABEL[entry.reason] || entry.reason].filter(Boolean).join(" · ");
    const button = el("button", {
      type: "button", class: "item", "data-conversation-id": entry.id,
      "aria-current": entry.id === state.selected ? "true" : null,
      onclick: () => select(entry.id),
    },
    el("span", { class: "item-title", text: entry.id }),
    el("span", { class: "item-meta", text: summary }),
    entry.waiting_since ? el("span", { class: "item-wait", "data-since": entry.waiting_since, text: `waiting ${since(entry.waiting_since)}` }) : null,
    entry.summary ? el("span", { class: "item-summary", text: entry.summary }) : null,
    entry.contact_email ? el("span", { class: "item-summary", text: `left email: ${entry.contact_email}` }) : null);
    return el("li", {}, button);
  }

  function renderQueue(frame) {
    const waiting = Array.isArray(frame.waiting) ? frame.waiting : [];
    const mine = Array.isArray(frame.mine) ? frame.mine : [];
    $("queue-waiting").replaceChildren(...waiting.map(queueItem));
    $("queue-mine").replaceChildren(...mine.map(queueItem));
    $("waiting-count").textContent = String(waiting.length);
    $("queue-empty").hidden = waiting.length > 0;
    // The open conversation moved (taken by someone, handed back elsewhere): show it afresh.
    if (state.selected && state.detail) {
      const listed = waiting.some((e) => e.id === state.selected) ? "waiting"
        : mine.some((e) => e.id === state.selected) ? "mine" : "other";
      if (listed !== placeOf(state.detail)) load(state.selected);
    }
  }

  function placeOf(detail) {
    if (detail.state === "waiting") return "waiting";
    return detail.state === "agent" && detail.agent_id === state.agent.id ? "mine" : "other";
  }

  function tick() {
    for (const node of document.querySelectorAll("[data-since]")) {
      node.textContent = `waiting ${since(node.getAttribute("data-since"))}`;
    }
  }

  // ---- conversation --------------------------------------------------------------

  async function select(conversationId) {
    state.selected = conversationId;
    state.seqs = new Set();
    $("transcript").replaceChildren();
    watch(conversationId);
    await load(conversationId);
    for (const node of document.querySelectorAll("[data-conversation-id]")) {
      node.setAttribute("aria-current", node.getAttribute("data-conversation-id") === conversationId ? "true" : "false");
    }
  }

  async function load(conversationId) {
    let detail;
    try {
      detail = await api("GET", `/conversations/${encodeURIComponent(conversationId)}`);
    } catch (error) {
      $("action-error").textContent = error.message;
      return;
    }
    if (state.selected !== conversationId) return;
    state.detail = detail;
    renderDetail(detail);
  }

  function renderDetail(detail) {
    $("conversation").hidden = false;
    $("action-error").textContent = "";
    $("conv-title").textContent = detail.id;
    const stateText = { bot: "With the bot", waiting: "Waiting for an agent", agent: `With ${detail.agent_name || "an agent"}`, closed: "Closed" }[detail.state] || detail.state;
    $("conv-state").textContent = stateText;
    $("conv-state").setAttribute("data-state", detail.state);
    const meta = [detail.channel, REASON_LABEL[detail.reason] || detail.reason, detail.summary,
      detail.contact_email ? `email left: ${detail.contact_email}` : null].filter(Boolean);
    $("conv-meta").textContent = meta.join(" · ");
    const mine = detail.state === "agent" && detail.agent_id === state.agent.id;
    $("claim").disabled = !["waiting", "bot"].includes(detail.state);
    $("handback").disabled = !(mine || detail.state === "waiting");
    $("close").disabled = !(mine || ["waiting", "bot"].includes(detail.state));
    $("reply-text").disabled = !mine;
    $("reply-send").disabled = !mine;
    $("reply-text").placeholder = mine ? "Reply to the shopper…" : "Take the conversation to reply.";
    state.seqs = new Set();
    $("transcript").replaceChildren();
    for (const message of detail.transcript) addMessage(message);
    renderCustomer(detail);
  }

  function addMessage(m) {
    if (Number.isInteger(m.seq)) {
      if (state.seqs.has(m.seq)) return;
      state.seqs.add(m.seq);
    }
    const role = ROLE_LABEL[m.role] ? m.role : "system";
    const item = el("li", { class: `msg msg-${role}`, "data-role": role, "data-seq": Number.isInteger(m.seq) ? String(m.seq) : null },
      el("span", { class: "msg-who", text: ROLE_LABEL[role] }),
      el("time", { class: "msg-time", datetime: typeof m.ts === "string" ? m.ts : null, text: clock(m.ts) }));
    if (typeof m.text === "string" && m.text) item.append(el("p", { class: "msg-text", text: m.text }));
    for (const card of Array.isArray(m.cards) ? m.cards : []) {
      item.append(el("div", { class: "msg-card" },
        el("strong", { text: String(card.name ?? "") }),
        el("span", { text: ` ${card.price ?? ""} ${card.currency ?? ""} · ${card.sku ?? ""}` })));
    }
    if (m.link && typeof m.link === "object") {
      const href = safeUrl(m.link.url);
      const title = String(m.link.title ?? "link");
      item.append(href ? el("a", { class: "msg-link", href, target: "_blank", rel: "noopener noreferrer", text: title })
        : el("span", { class: "msg-link", text: title }));
    }
    const buttons = (Array.isArray(m.buttons) ? m.buttons : []).map((b) => String(b.title ?? ""));
    if (buttons.length) item.append(el("p", { class: "msg-buttons", text: `Buttons: ${buttons.join(" | ")}` }));
    const list = $("transcript");
    const after = [...list.children].find((node) => Number(node.getAttribute("data-seq")) > m.seq);
    list.insertBefore(item, after || null);
    list.scrollTop = list.scrollHeight;
  }

  function renderCustomer(detail) {
    $("customer").hidden = false;
    const customer = detail.customer;
    const contact = customer ? [customer.name, customer.email].filter(Boolean).join(" · ") : "";
    $("customer-contact").textContent = `${detail.channel} ${detail.external_id}` + (contact ? ` · ${contact}` : "");
    const lines = customer && customer.cart ? customer.cart.lines : [];
    $("customer-cart").replaceChildren(...lines.map((l) => el("li", {
      text: `${l.quantity} × ${l.name} (${l.sku}) — ${l.line_total} ${customer.cart.currency}` }, )));
    if (!lines.length) $("customer-cart").append(el("li", { class: "muted", text: "Empty cart" }));
    $("customer-cart-total").textContent = lines.length ? `Total ${customer.cart.total} ${customer.cart.currency}` : "";
    const orders = customer ? customer.orders : [];
    $("customer-orders").replaceChildren(...orders.map((o) => el("li", {
      text: `${o.number} · ${o.status} · ${o.total} ${o.currency} · ${String(o.created_at).slice(0, 10)}` })));
    if (!orders.length) $("customer-orders").append(el("li", { class: "muted", text: "No orders" }));
  }

  async function act(path, done) {
    $("action-error").textContent = "";
    const conversationId = state.selected;
    if (!conversationId) return;
    try {
      const result = await api("POST", `/conversations/${encodeURIComponent(conversationId)}${path}`, done ? done.body : undefined);
      if (done && done.then) done.then(result);
    } catch (error) {
      $("action-error").textContent = error.message;
    }
    await load(conversationId);
  }

  async function onReply(event) {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    if (!text) return;
    await act("/reply", { body: { text }, then: (message) => { $("reply-text").value = ""; addMessage(message); } });
    $("reply-text").focus();
  }

  function onReplyKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) onReply(event);
  }

  async function onDelete() {
    const detail = state.detail;
    if (!detail) return;
    if (!window.confirm(`Delete every transcript, the contact details and order addresses of ${detail.channel} ${detail.external_id}? This cannot be undone.`)) return;
    try {
      const result = await api("DELETE", `/customers/${encodeURIComponent(detail.channel)}/${encodeURIComponent(detail.external_id)}`);
      const waiting = result.bot_memory ? result.bot_memory.waiting.length : 0;
      $("action-error").textContent = `Deleted ${result.messages} messages in ${result.conversations.length} conversations.` +
        (waiting ? ` The bot is unreachable: it will forget ${waiting} of them as soon as it is back.` : "");
      $("transcript").replaceChildren();
    } catch (error) {
      $("action-error").textContent = error.message;
    }
  }

  async function onSearch(event) {
    event.preventDefault();
    const q = $("search-q").value.trim();
    const list = $("search-results");
    if (!q) return list.replaceChildren();
    try {
      const data = await api("GET", `/search?q=${encodeURIComponent(q)}`);
      list.replaceChildren(...data.results.map((r) => el("li", {}, el("button", {
        type: "button", class: "item", onclick: () => select(r.conversation_id) },
      el("span", { class: "item-title", text: `${r.conversation_id} · ${ROLE_LABEL[r.role] || r.role}` }),
      el("span", { class: "item-summary", text: r.text || "" })))));
      if (!data.results.length) list.append(el("li", { class: "muted", text: "Nothing found." }));
    } catch (error) {
      list.replaceChildren(el("li", { class: "error", text: error.message }));
    }
  }

  async function start() {
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", onLogout);
    $("claim").addEventListener("click", () => act("/claim"));
    $("handback").addEventListener("click", () => act("/handback"));
    $("close").addEventListener("click", () => act("/close"));
    $("reply-form").addEventListener("submit", onReply);
    $("reply-text").addEventListener("keydown", onReplyKey);
    $("delete-data").addEventListener("click", onDelete);
    $("search-form").addEventListener("submit", onSearch);
    setInterval(tick, 1000);
    try {
      showConsole(await api("GET", "/me"));
    } catch (e) {
      showSignin();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
