/*
 * Atelier web chat widget. Embedded with one tag:
 *   <script src="https://shop.example/static/widget.js" data-shop="..." data-greeting="..."
 *           data-accent="#7a4e2d" data-position="right|left" defer></script>
 * A shop whose customer is logged in adds data-customer-token="<ref>.<expiry>.<hmac>" (signed
 * by its server with the secret it shares with the gateway), so order questions need no email.
 * Talks to the gateway over /ws/chat on the script's own origin. Each conversation has a
 * random session secret, kept with its id in localStorage and sent in the socket's first
 * frame (never in the URL): it proves to the gateway that the conversation is this
 * browser's. Every server or user string reaches the DOM through textContent or a checked
 * URL attribute.
 */
(function () {
  "use strict";
  if (window.AtelierWidget) return; // the tag was included twice

  const script = document.currentScript || document.querySelector('script[src*="widget.js"][data-shop]');
  if (!script) return;
  const BASE = new URL(script.src, location.href);

  const MAX_LEN = 2000;
  const HISTORY_LIMIT = 100;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const STABLE_CONNECTION_MS = 5000;
  const TYPING_TIMEOUT_MS = 30000;
  const REPLAY_GRACE_MS = 2000;
  const CONVERSATION_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/; // what the gateway accepts
  const SECRET_RE = /^[A-Za-z0-9_-]{32,128}$/;
  const ROLES = ["shopper", "bot", "agent", "system"];
  const KEY_CONVERSATION = "atelier.conversation_id";
  const KEY_SECRET = "atelier.conversation_secret";
  const KEY_HISTORY = "atelier.history";
  const DEFAULT_IMAGE = new URL("img/placeholder/default.svg", BASE).href;
  const LOCALE = document.documentElement.lang || navigator.language || "en";

  const cfg = {
    shop: script.dataset.shop || "Chat",
    greeting: script.dataset.greeting || "",
    accent: script.dataset.accent || "",
    position: script.dataset.position === "left" ? "left" : "right",
    customerToken: script.dataset.customerToken || "",
  };
  // Refusals of the connection itself (not of one message), see the gateway's routes.
  const TOKEN_ERRORS = ["invalid_customer_token", "customer_token_expired", "customer_tokens_disabled"];
  const FATAL_ERRORS = ["origin_not_allowed"];
  // The gateway does not take this conversation as ours (e.g. begun before secrets existed):
  // start a new one.
  const OWNERSHIP_ERRORS = ["conversation_not_owned", "conversation_secret_required",
    "invalid_conversation_secret", "reserved_conversation_id"];
  // The gateway could not check the conversation now: the socket closes and comes back.
  const RETRY_ERRORS = ["chat_unavailable"];

  const state = {
    conversationId: null,
    secret: null,
    greetingTs: null,
    lastSeq: 0,
    seen: new Set(), // seqs already rendered
    messages: [], // confirmed messages in seq order, then pending shopper messages
  };
  const nodes = new WeakMap(); // message object -> its DOM node
  const ui = {};
  let ws = null;
  let wsOpenedAt = 0;
  let attempt = 0;
  let retryTimer = null;
  let typingTimer = null;
  let holdTimer = null; // while set, nothing is sent: waiting for the replay after a reconnect
  let refused = null; // why the gateway does not serve this site: no reconnecting, no sending
  const sentOn = new Map(); // client_id -> socket it was sent on (or "earlier"), so a flush never sends twice

  // ---- storage ------------------------------------------------------------

  // Storage may be disabled or full (private mode): the widget then works without history.
  const store = {
    get(key) { try { return localStorage.getItem(key); } catch (e) { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* in memory only */ } },
  };

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // randomUUID exists only in secure contexts; a shop served over plain http still needs ids.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // 256 random bits, base64url: the conversation's proof of ownership.
  function newSecret() {
    const b = crypto.getRandomValues(new Uint8Array(32));
    return btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function ensureConversation() {
    if (state.conversationId) return;
    state.conversationId = uuid();
    state.secret = newSecret();
    state.greetingTs = state.greetingTs || new Date().toISOString();
    store.set(KEY_CONVERSATION, state.conversationId);
    store.set(KEY_SECRET, state.secret);
    saveHistory();
  }

  // The gateway refused the conversation as ours: go on in a new one. Messages still
  // waiting to be sent move over; what was shown of the old one is cleared.
  function startOver(message) {
    for (const m of state.messages.filter((x) => !x.pending)) {
      const node = nodes.get(m);
      if (node) node.remove();
    }
    state.messages = state.messages.filter((m) => m.pending);
    state.messages.forEach((m) => sentOn.delete(m.client_id));
    state.conversationId = null;
    state.lastSeq = 0;
    state.seen.clear();
    ensureConversation();
    attempt = 0;
    showNotice(message);
  }

  function loadHistory() {
    const stored = store.get(KEY_CONVERSATION);
    const secret = store.get(KEY_SECRET);
    // A conversation without its secret (kept by an older widget) cannot be resumed.
    const usable = stored && CONVERSATION_ID_RE.test(stored) && secret && SECRET_RE.test(secret);
    state.conversationId = usable ? stored : null;
    state.secret = usable ? secret : null;
    let saved = null;
    try { saved = JSON.parse(store.get(KEY_HISTORY) || "null"); } catch (e) { saved = null; }
    if (!state.conversationId || !saved || saved.conversation_id !== state.conversationId) return;
    state.greetingTs = typeof saved.greeting_ts === "string" ? saved.greeting_ts : null;
    state.lastSeq = Number.isInteger(saved.last_seq) ? saved.last_seq : 0;
    for (const raw of Array.isArray(saved.messages) ? saved.messages : []) {
      if (!raw || typeof raw !== "object") continue;
      const m = normalize(raw);
      m.pending = raw.pending === true && m.seq === null;
      if (m.pending && typeof raw.payload === "string") m.payload = raw.payload;
      if (m.pending) sentOn.set(m.client_id, "earlier"); // the previous page may have sent it
      if (m.seq !== null) state.seen.add(m.seq);
      state.messages.push(m);
    }
  }

  function saveHistory() {
    if (!state.conversationId) return;
    const pending = state.messages.filter((m) => m.pending);
    const confirmed = state.messages.filter((m) => !m.pending).slice(-HISTORY_LIMIT);
    state.messages = confirmed.concat(pending);
    store.set(KEY_HISTORY, JSON.stringify({
      conversation_id: state.conversationId,
      greeting_ts: state.greetingTs,
      last_seq: state.lastSeq,
      messages: state.messages,
    }));
  }

  // ---- small DOM helpers ----------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function icon(pathData) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const path = document.createElementNS(ns, "path");
    for (const [k, v] of [["viewBox", "0 0 24 24"], ["aria-hidden", "true"], ["focusable", "false"]]) svg.setAttribute(k, v);
    path.setAttribute("d", pathData);
    svg.append(path);
    return svg;
  }

  const ICON_CHAT = "M4 5h16v11H9l-5 4z";
  const ICON_CLOSE = "M6 6l12 12M18 6L6 18";
  const ICON_SEND = "M4 12l16-8-6 16-3-6zM11 14l9-10";

  const srOnly = (text) => el("span", { class: "atelier-sr", text });

  // Only http(s) URLs may reach href/src: a "javascript:" link from the server must not run.
  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, BASE);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function formatTime(ts) {
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return null;
    return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  }

  function formatPrice(price, currency) {
    const amount = String(price ?? "");
    if (!/^-?\d+(\.\d+)?$/.test(amount)) return amount;
    try {
      // The decimal string goes in as is: engines with Intl.NumberFormat v3 format it exactly, others via Number.
      return new Intl.NumberFormat(LOCALE, { style: "currency", currency: String(currency) }).format(amount);
    } catch (e) {
      return currency ? `${amount} ${currency}` : amount;
    }
  }

  const scrollToEnd = () => { ui.log.scrollTop = ui.log.scrollHeight; };

  // ---- messages -----------------------------------------------------------

  function asButtons(list) {
    return (Array.isArray(list) ? list : [])
      .filter((b) => b && typeof b.title === "string" && b.title)
      .map((b) => ({ title: b.title, payload: typeof b.payload === "string" ? b.payload : null }));
  }

  function normalize(f) {
    const link = f.link && typeof f.link === "object" && typeof f.link.url === "string"
      ? { title: typeof f.link.title === "string" && f.link.title ? f.link.title : "Open link", url: f.link.url }
      : null;
    return {
      seq: Number.isInteger(f.seq) ? f.seq : null,
      role: ROLES.includes(f.role) ? f.role : "system",
      ts: typeof f.ts === "string" ? f.ts : new Date().toISOString(),
      client_id: typeof f.client_id === "string" ? f.client_id : null,
      text: typeof f.text === "string" && f.text ? f.text : null,
      buttons: asButtons(f.buttons),
      cards: (Array.isArray(f.cards) ? f.cards : []).filter((c) => c && typeof c === "object"),
      link,
    };
  }

  function senderLabel(role) {
    return { shopper: "You", bot: cfg.shop, agent: `${cfg.shop} team`, system: "Notice" }[role];
  }

  // ---- the bot's Markdown subset, built as DOM nodes --------------------------
  // Paragraphs, **bold**/__bold__, *italic*/_italic_, `code`, [links](http…|mailto:…),
  // "-"/"*"/"1." lists, "#" headings, pipe tables and fenced code. Every piece of text is
  // a text node (textContent), never HTML: an <img onerror> in an FAQ file stays text, and
  // a link whose address is not http(s) or mailto keeps its words and loses its address.

  const INLINE_RE = new RegExp([
    "`([^`\\n]+)`",
    "\\[([^\\]\\n]+)\\]\\(([^)\\s]+)\\)",
    "\\*\\*(\\S(?:[\\s\\S]*?\\S)?)\\*\\*",
    "(?<!\\w)__(\\S(?:[\\s\\S]*?\\S)?)__(?!\\w)",
    "(?<![\\w*])\\*([^\\s*](?:[^*]*?[^\\s*])?)\\*(?![\\w*])",
    "(?<!\\w)_([^\\s_](?:[^_]*?[^\\s_])?)_(?!\\w)",
  ].join("|"), "g");

  function safeLink(value) {
    if (/^mailto:/i.test(value)) return value;
    return /^https?:\/\//i.test(value) ? safeUrl(value) : null;
  }

  function renderInline(text) {
    const out = document.createDocumentFragment();
    let position = 0;
    for (const match of text.matchAll(INLINE_RE)) {
      if (match.index > position) out.append(text.slice(position, match.index));
      position = match.index + match[0].length;
      const [, code, label, url, b1, b2, i1, i2] = match;
      if (code !== undefined) out.append(el("code", { text: code }));
      else if (label !== undefined) {
        const href = safeLink(url);
        out.append(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, renderInline(label))
          : renderInline(label));
      } else if (b1 !== undefined || b2 !== undefined) out.append(el("strong", {}, renderInline(b1 ?? b2)));
      else out.append(el("em", {}, renderInline(i1 ?? i2)));
    }
    if (position < text.length) out.append(text.slice(position));
    return out;
  }

  function tableCells(row) {
    return row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  }

  function renderTable(rows) {
    const rule = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
    const table = el("table", { class: "atelier-table" });
    const hasHead = rows.length > 1 && rule.test(rows[1]);
    if (hasHead) {
      table.append(el("thead", {}, el("tr", {}, ...tableCells(rows[0]).map((c) => el("th", {}, renderInline(c))))));
    }
    const body = el("tbody");
    for (const row of rows.slice(hasHead ? 2 : 0)) {
      if (!rule.test(row)) body.append(el("tr", {}, ...tableCells(row).map((c) => el("td", {}, renderInline(c)))));
    }
    table.append(body);
    return el("div", { class: "atelier-table-wrap" }, table);
  }

  function renderRichText(text) {
    const out = el("div", { class: "atelier-rich" });
    const lines = String(text).replace(/\r\n/g, "\n").split("\n");
    let paragraph = [];
    let list = null;
    const flush = () => {
      if (paragraph.length) out.append(el("p", {}, renderInline(paragraph.join("\n"))));
      paragraph = [];
    };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = /^ {0,3}(`{3,}|~{3,})/.exec(line);
      const bullet = /^\s*[-*+][ \t]+(.*)$/.exec(line);
      const numbered = /^\s*(\d{1,9})[.)][ \t]+(.*)$/.exec(line);
      const heading = /^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/.exec(line);
      if (!bullet && !numbered && list && !line.trim()) { list = null; flush(); continue; }
      if (fence) {
        flush(); list = null;
        const body = [];
        for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) body.push(lines[i]);
        out.append(el("pre", {}, el("code", { text: body.join("\n") })));
      } else if (line.trimStart().startsWith("|")) {
        flush(); list = null;
        const rows = [];
        for (; i < lines.length && lines[i].trimStart().startsWith("|"); i++) rows.push(lines[i]);
        i--;
        out.append(renderTable(rows));
      } else if (bullet || numbered) {
        flush();
        const tag = bullet ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== tag) {
          list = el(tag, numbered && numbered[1] !== "1" ? { start: numbered[1] } : {});
          out.append(list);
        }
        list.append(el("li", {}, renderInline(bullet ? bullet[1] : numbered[2])));
      } else if (heading) {
        flush(); list = null;
        out.append(el("p", { class: "atelier-heading" }, el("strong", {}, renderInline(heading[1]))));
      } else if (!line.trim()) {
        flush();
      } else if (list && !paragraph.length) {
        list.lastChild.append(" ", renderInline(line.trim()));  // a list item's next line
      } else {
        paragraph.push(line.trim());
      }
    }
    flush();
    return out;
  }

  function renderMessage(m, local) {
    const node = el("div", {
      class: `atelier-msg atelier-${m.role}` + (m.pending ? " is-pending" : ""),
      "data-role": m.role,
      "data-seq": m.seq === null ? null : String(m.seq),
      "data-client-id": m.client_id,
      "data-local": local || null,
    });
    if (m.role === "agent") node.append(el("div", { class: "atelier-sender", text: senderLabel("agent") }));
    if (m.text) node.append(el("div", { class: "atelier-bubble" }, srOnly(`${senderLabel(m.role)}: `),
      m.role === "bot" ? renderRichText(m.text) : m.text));
    if (m.cards.length) node.append(renderCards(m.cards));
    if (m.link) node.append(renderLink(m.link));
    const time = formatTime(m.ts);
    if (time) node.append(el("time", { class: "atelier-time", datetime: m.ts, text: time }));
    if (m.pending) node.append(el("span", { class: "atelier-pending-note", text: "Sending…" }));
    if (m.buttons.length) node.append(renderQuickReplies(m.buttons));
    return node;
  }

  function renderQuickReplies(buttons) {
    const row = el("div", { class: "atelier-quick-replies", role: "group", "aria-label": "Suggested replies" });
    for (const b of buttons) {
      // The row disappears once sent, so focus moves on to the input.
      const onclick = () => send(b.title, b.payload) && ui.input.focus();
      row.append(el("button", { type: "button", class: "atelier-quick-reply", text: b.title, onclick }));
    }
    return row;
  }

  function renderCards(cards) {
    return el("ul", { class: "atelier-cards", "aria-label": "Products", tabindex: "0" }, ...cards.map(renderCard));
  }

  function renderCard(card) {
    const name = typeof card.name === "string" ? card.name : "";
    const img = el("img", { src: safeUrl(card.image_url) || DEFAULT_IMAGE, alt: "", loading: "lazy", width: "160", height: "120" });
    img.addEventListener("error", () => {
      if (img.src !== DEFAULT_IMAGE) img.src = DEFAULT_IMAGE;
    });
    const href = safeUrl(card.url);
    const title = href
      ? el("a", { class: "atelier-card-name", href, target: "_blank", rel: "noopener", text: name })
      : el("div", { class: "atelier-card-name", text: name });
    const actions = el("div", { class: "atelier-card-actions" });
    for (const b of asButtons(card.buttons)) {
      const label = name ? `${b.title}: ${name}` : null;
      actions.append(el("button", { type: "button", class: "atelier-card-button", text: b.title, "aria-label": label,
        onclick: () => send(b.title, b.payload) }));
    }
    return el("li", { class: "atelier-card", "data-sku": typeof card.sku === "string" ? card.sku : null },
      img,
      el("div", { class: "atelier-card-body" }, title,
        el("div", { class: "atelier-card-price", text: formatPrice(card.price, card.currency) }),
        card.in_stock === false ? el("div", { class: "atelier-card-stock", text: "Out of stock" }) : null,
        typeof card.reason === "string" && card.reason ? el("div", { class: "atelier-card-reason", text: card.reason }) : null),
      actions.childElementCount ? actions : null);
  }

  function renderLink(link) {
    const href = safeUrl(link.url);
    if (!href) return null;
    return el("a", { class: "atelier-link", href, target: "_blank", rel: "noopener", text: link.title });
  }

  // Confirmed messages go before the first pending one (and before the typing dots),
  // so a replayed bot reply never lands below a shopper message that is still sending.
  function placeConfirmed(m, node) {
    const i = state.messages.findIndex((x) => x.pending);
    if (i === -1) state.messages.push(m);
    else state.messages.splice(i, 0, m);
    ui.log.insertBefore(node, ui.log.querySelector(".atelier-msg.is-pending") || typingAnchor());
  }

  const typingAnchor = () => (ui.typing.parentNode === ui.log ? ui.typing : null);

  function addMessage(m) {
    const node = renderMessage(m);
    nodes.set(m, node);
    // Suggested replies are stale once the shopper has answered.
    if (m.role === "shopper") ui.log.querySelectorAll(".atelier-quick-replies").forEach((row) => row.remove());
    if (m.pending) {
      state.messages.push(m);
      ui.log.insertBefore(node, typingAnchor());
    } else {
      placeConfirmed(m, node);
    }
    scrollToEnd();
  }

  function confirmPending(local, echo) {
    state.messages.splice(state.messages.indexOf(local), 1);
    Object.assign(local, { seq: echo.seq, ts: echo.ts, pending: false });
    delete local.payload;
    sentOn.delete(local.client_id);
    const old = nodes.get(local);
    const fresh = renderMessage(local);
    nodes.set(local, fresh);
    if (old) old.remove();
    placeConfirmed(local, fresh);
    scrollToEnd();
  }

  function receive(m) {
    if (m.seq !== null) {
      if (state.seen.has(m.seq)) return;
      state.seen.add(m.seq);
      state.lastSeq = Math.max(state.lastSeq, m.seq);
    }
    const mine = m.role === "shopper" && m.client_id
      ? state.messages.find((x) => x.client_id === m.client_id)
      : null;
    if (mine && mine.pending) confirmPending(mine, m);
    else if (!mine) {
      if (m.role !== "shopper") setTyping(false);
      addMessage(m);
      if (m.role !== "shopper" && !isOpen()) setUnread(true);
    }
    saveHistory();
  }

  function setTyping(on) {
    clearTimeout(typingTimer);
    if (!on) return ui.typing.remove();
    ui.log.append(ui.typing);
    scrollToEnd();
    // A lost "typing off" frame must not leave the dots forever.
    typingTimer = setTimeout(() => setTyping(false), TYPING_TIMEOUT_MS);
  }

  // ---- sending --------------------------------------------------------------

  function send(text, payload) {
    const value = String(text ?? "").trim();
    if (!value) return false;
    if (refused) {
      showNotice(refused);
      return false;
    }
    const length = [...value].length; // code points, as the server counts them
    if (length > MAX_LEN) {
      showNotice(`Your message is ${length.toLocaleString(LOCALE)} characters long; the limit is ${MAX_LEN.toLocaleString(LOCALE)}. Please shorten it.`);
      return false;
    }
    hideNotice();
    ensureConversation();
    const m = normalize({ role: "shopper", text: value, client_id: uuid() });
    m.pending = true;
    if (payload) m.payload = payload;
    addMessage(m);
    saveHistory();
    connect();
    transmit(m);
    updateStatus();
    return true;
  }

  function transmit(m) {
    if (!ws || ws.readyState !== WebSocket.OPEN || holdTimer || sentOn.get(m.client_id) === ws) return;
    const frame = { type: "message", text: m.text, client_id: m.client_id };
    if (m.payload) frame.payload = m.payload;
    ws.send(JSON.stringify(frame));
    sentOn.set(m.client_id, ws);
  }

  function flushPending() {
    state.messages.filter((m) => m.pending).forEach(transmit);
  }

  // A message sent on a socket that then dropped may or may not have reached the gateway,
  // which does not dedupe. The gateway replays what it recorded (echoes carry our client_id)
  // as soon as a socket opens, so wait briefly for that replay, then send whatever is still
  // unconfirmed, in order. Messages typed meanwhile queue behind.
  function flushAfterReplay() {
    const uncertain = state.messages.some((m) => m.pending && sentOn.has(m.client_id));
    if (!uncertain) return flushPending();
    holdTimer = setTimeout(() => {
      holdTimer = null;
      flushPending();
    }, REPLAY_GRACE_MS);
  }

  function onServerError(frame) {
    const message = typeof frame.message === "string" && frame.message ? frame.message : "Something went wrong.";
    if (OWNERSHIP_ERRORS.includes(frame.code)) {
      startOver("This chat could not be resumed, so a new one has started.");
      return;
    }
    if (RETRY_ERRORS.includes(frame.code)) {
      showNotice(message); // nothing was taken: what waits is sent after reconnecting
      return;
    }
    if (TOKEN_ERRORS.includes(frame.code)) {
      // Go on as a guest (the socket is closed and reopened without the token): the chat
      // keeps working, only order questions ask for the email again.
      cfg.customerToken = "";
      attempt = 0;
      showNotice(`${message} You can go on chatting as a guest.`);
      return;
    }
    showNotice(message);
    if (FATAL_ERRORS.includes(frame.code)) {
      refused = message;
      return;
    }
    // Error frames name no client_id, but the gateway handles a socket's frames one at a time,
    // so a rejection belongs to the oldest message sent on this socket that is not yet echoed.
    const failed = state.messages.find((m) => m.pending && (typeof frame.client_id === "string"
      ? m.client_id === frame.client_id
      : ws && sentOn.get(m.client_id) === ws));
    if (!failed) return;
    state.messages.splice(state.messages.indexOf(failed), 1);
    sentOn.delete(failed.client_id);
    const node = nodes.get(failed);
    if (node) {
      node.classList.replace("is-pending", "is-failed");
      const note = node.querySelector(".atelier-pending-note");
      if (note) note.textContent = "Not sent";
    }
    saveHistory();
  }

  // ---- connection -----------------------------------------------------------

  function socketUrl() {
    const url = new URL("/ws/chat", BASE);
    url.protocol = BASE.protocol === "https:" ? "wss:" : "ws:";
    const params = { conversation_id: state.conversationId, after: String(state.lastSeq) };
    url.search = new URLSearchParams(params).toString();
    return url.href;
  }

  function connect() {
    if (ws || retryTimer || refused) return;
    ensureConversation();
    let sock;
    try {
      sock = new WebSocket(socketUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws = sock;
    sock.addEventListener("open", () => {
      // First the proof that the conversation is ours (and who the customer is): secrets
      // and tokens stay out of the URL, which servers and proxies log.
      const hello = { type: "hello", conversation_secret: state.secret };
      if (cfg.customerToken) hello.customer_token = cfg.customerToken;
      sock.send(JSON.stringify(hello));
      wsOpenedAt = Date.now();
      updateStatus();
      flushAfterReplay();
    });
    sock.addEventListener("message", onFrame);
    sock.addEventListener("close", () => {
      if (ws !== sock) return;
      ws = null;
      clearTimeout(holdTimer);
      holdTimer = null;
      // Reset the backoff only after a connection that held, so a server that accepts
      // and at once closes is not hammered every half second.
      if (wsOpenedAt && Date.now() - wsOpenedAt > STABLE_CONNECTION_MS) attempt = 0;
      wsOpenedAt = 0;
      setTyping(false);
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (refused) return updateStatus();
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    const delay = Math.min(BACKOFF_MAX_MS, ceiling * (0.75 + Math.random() * 0.5));
    attempt += 1;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      connect();
    }, delay);
    updateStatus();
  }

  function reconnectNow() {
    if (!retryTimer) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    connect();
  }

  function onFrame(event) {
    let frame;
    try { frame = JSON.parse(event.data); } catch (e) { return; }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "message") receive(normalize(frame));
    else if (frame.type === "typing") setTyping(frame.on === true);
    else if (frame.type === "error") onServerError(frame);
  }

  // Silent on the first attempt; shown once a connection has failed or dropped.
  function updateStatus() {
    const online = ws && ws.readyState === WebSocket.OPEN;
    const queued = state.messages.some((m) => m.pending);
    ui.status.textContent = online || attempt === 0 || refused
      ? ""
      : "Reconnecting…" + (queued ? " Your messages will be sent when the connection is back." : "");
  }

  // ---- panel ---------------------------------------------------------------

  const isOpen = () => !ui.panel.hidden;

  function open() {
    if (isOpen()) return;
    ui.panel.hidden = false;
    ui.root.classList.add("is-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    setUnread(false);
    connect();
    scrollToEnd();
    ui.input.focus();
  }

  function close() {
    if (!isOpen()) return;
    const hadFocus = ui.panel.contains(document.activeElement);
    ui.panel.hidden = true;
    ui.root.classList.remove("is-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    if (hadFocus) ui.launcher.focus();
  }

  function setUnread(on) {
    ui.launcher.classList.toggle("has-unread", on);
    ui.launcher.setAttribute("aria-label", on ? `Open chat with ${cfg.shop} (new messages)` : `Chat with ${cfg.shop}`);
  }

  // Status and notice stay in the DOM and collapse when empty (CSS :empty): a live
  // region that was display:none when its text arrives is often not announced.
  function showNotice(text) {
    ui.notice.textContent = text;
  }

  function hideNotice() {
    ui.notice.textContent = "";
    ui.input.removeAttribute("aria-invalid");
  }

  function onInput() {
    ui.input.style.height = "auto";
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, 120)}px`;
    const length = [...ui.input.value.trim()].length;
    if (length > MAX_LEN) {
      ui.input.setAttribute("aria-invalid", "true");
      showNotice(`${length.toLocaleString(LOCALE)} / ${MAX_LEN.toLocaleString(LOCALE)} characters — please shorten your message.`);
    } else if (ui.input.hasAttribute("aria-invalid")) {
      hideNotice();
    }
  }

  function onSubmit(event) {
    event.preventDefault();
    if (send(ui.input.value)) {
      ui.input.value = "";
      onInput();
    } else if ([...ui.input.value.trim()].length > MAX_LEN) {
      ui.input.setAttribute("aria-invalid", "true");
    }
    ui.input.focus();
  }

  function onInputKey(event) {
    // isComposing: Enter that confirms an IME candidate (Japanese, Chinese…) must not send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) onSubmit(event);
  }

  // Text on the accent colour is dark or light, whichever is more readable.
  function applyAccent() {
    if (!cfg.accent || !(window.CSS && CSS.supports("color", cfg.accent))) return;
    ui.root.style.setProperty("--atelier-accent", cfg.accent);
    const probe = el("span", { hidden: "" });
    probe.style.color = cfg.accent;
    ui.root.append(probe);
    const [r, g, b] = (getComputedStyle(probe).color.match(/[\d.]+/g) || []).map(Number);
    probe.remove();
    if (b === undefined) return;
    const lin = (v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
    const luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    ui.root.style.setProperty("--atelier-on-accent", luminance > 0.4 ? "#1f1a17" : "#ffffff");
  }

  function buildUi() {
    ui.root = el("div", { id: "atelier-widget", class: `atelier-root atelier-${cfg.position}`, hidden: "" });
    ui.launcher = el("button", {
      id: "atelier-launcher", type: "button", class: "atelier-launcher",
      "aria-expanded": "false", "aria-controls": "atelier-panel",
      onclick: () => (isOpen() ? close() : open()),
    }, icon(ICON_CHAT), icon(ICON_CLOSE));
    // Asks the bot for a person; the bot hands the conversation to the shop's agents.
    const human = el("button", { id: "atelier-human", type: "button", class: "atelier-human", text: "Talk to a person",
      onclick: () => send("Talk to a person", "/request_human") && ui.input.focus() });
    const header = el("header", { class: "atelier-header" },
      el("h2", { id: "atelier-title", class: "atelier-title", text: cfg.shop }), human,
      el("button", { type: "button", class: "atelier-close", "aria-label": "Close chat", onclick: close }, icon(ICON_CLOSE)));
    ui.status = el("div", { id: "atelier-status", class: "atelier-status", role: "status" });
    ui.log = el("div", {
      id: "atelier-log", class: "atelier-log", role: "log", "aria-live": "polite",
      "aria-label": `Conversation with ${cfg.shop}`, tabindex: "0",
    });
    const dot = () => el("span", { class: "atelier-dot", "aria-hidden": "true" });
    ui.typing = el("div", { class: "atelier-typing" }, srOnly(`${cfg.shop} is typing`), dot(), dot(), dot());
    ui.notice = el("div", { id: "atelier-notice", class: "atelier-notice", role: "alert" });
    ui.input = el("textarea", {
      id: "atelier-input", class: "atelier-input", rows: "1", placeholder: "Type a message…",
      "aria-label": "Message", "aria-describedby": "atelier-notice",
      oninput: onInput, onkeydown: onInputKey,
    });
    ui.send = el("button", { id: "atelier-send", type: "submit", class: "atelier-send", "aria-label": "Send message" }, icon(ICON_SEND));
    ui.form = el("form", { class: "atelier-compose", onsubmit: onSubmit }, ui.input, ui.send);
    ui.panel = el("section", { id: "atelier-panel", class: "atelier-panel", role: "dialog", "aria-labelledby": "atelier-title", hidden: "" },
      header, ui.status, ui.log, ui.notice, ui.form);
    ui.root.addEventListener("keydown", (event) => event.key === "Escape" && close());
    ui.root.append(ui.launcher, ui.panel);
    setUnread(false);
  }

  function loadStyles() {
    const href = new URL("widget.css", BASE);
    href.search = BASE.search; // keep a cache-busting ?v= of the script tag
    const reveal = () => { ui.root.hidden = false; };
    document.head.append(el("link", { rel: "stylesheet", href: href.href, onload: reveal, onerror: reveal }));
  }

  function start() {
    buildUi();
    loadHistory();
    if (cfg.greeting) {
      ui.log.append(renderMessage(normalize({ role: "bot", text: cfg.greeting, ts: state.greetingTs }), "greeting"));
    }
    const restored = state.messages;
    state.messages = [];
    restored.forEach(addMessage);
    document.body.append(ui.root);
    applyAccent();
    loadStyles();
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") reconnectNow();
    });
    // A conversation already under way stays connected, so replies and payment
    // confirmations arrive (with an unread mark) even while the panel is closed.
    if (restored.length) connect();
  }

  // Callable before DOMContentLoaded too: until the widget is built they do nothing.
  window.AtelierWidget = {
    open: () => void (ui.root && open()),
    close: () => void (ui.root && close()),
    send: (text) => Boolean(ui.root) && send(text),
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
