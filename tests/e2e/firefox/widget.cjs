// Drives the web chat widget in a stock Firefox over WebDriver BiDi (puppeteer-core) and
// prints what it saw as one JSON object on stdout; tests/e2e/test_widget_firefox.py runs it
// and makes the assertions, so a failure names the check, not a line of this script.
//
//   NODE_PATH=<node_modules> node widget.cjs conversation|phone|reconnect <app url> <firefox binary>
//
// A wait that times out ends the run with {"error", "screen"} (the messages on screen then).
// Where the test must act on the server (stop the gateway), a line {"pause": "<what>"} is
// printed and the script goes on once a line arrives on stdin.
"use strict";

const readline = require("node:readline");
const puppeteer = require("puppeteer-core");

const WAIT_MS = 15000;
const MESSAGE_NODES = ".atelier-msg[data-seq]";

async function waitFor(page, what, fn, ...args) {
  try {
    return await page.waitForFunction(fn, { timeout: WAIT_MS, polling: 100 }, ...args);
  } catch (e) {
    throw new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`);
  }
}

function visible(page, selector) {
  return waitFor(page, `${selector} to be visible`, (sel) => {
    const node = document.querySelector(sel);
    if (!node) return false;
    const box = node.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(node).visibility !== "hidden";
  }, selector);
}

// Typed key by key and sent with Enter, as a shopper does.
async function send(page, text) {
  await page.type("#atelier-input", text);
  await page.keyboard.press("Enter");
}

// (seq, role, text) of every message the gateway confirmed, in screen order.
function screen(page) {
  return page.$$eval(MESSAGE_NODES, (nodes) => nodes.map((n) => [Number(n.dataset.seq), n.dataset.role,
    (n.querySelector(".atelier-bubble") || {}).textContent || ""]));
}

function cards(page) {
  return page.$$eval(".atelier-card", (nodes) => nodes.map((card) => {
    const img = card.querySelector("img");
    return {
      name: card.querySelector(".atelier-card-name").textContent,
      price: card.querySelector(".atelier-card-price").textContent,
      buttons: Array.from(card.querySelectorAll(".atelier-card-button"), (b) => b.textContent),
      image: img && { src: img.getAttribute("src"), loaded: img.complete && img.naturalWidth > 0 },
    };
  }));
}

const lastBotText = (page) => page.$$eval('.atelier-msg[data-role="bot"]:not([data-local])',
  (nodes) => (nodes.length ? nodes[nodes.length - 1].textContent : null));

async function clickByText(page, selector, text) {
  const handle = await waitFor(page, `a ${selector} reading "${text}"`, (sel, t) =>
    Array.from(document.querySelectorAll(sel)).find((n) => n.textContent === t), selector, text);
  await handle.asElement().click();
}

// Notes the URL of every WebSocket the page opens (the widget's secret must not be in one).
function recordSocketUrls(page) {
  return page.evaluateOnNewDocument(() => {
    const Native = window.WebSocket;
    window.__socketUrls = [];
    window.WebSocket = function (url, protocols) {
      window.__socketUrls.push(String(url));
      return protocols === undefined ? new Native(url) : new Native(url, protocols);
    };
    window.WebSocket.prototype = Native.prototype;
    for (const name of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) window.WebSocket[name] = Native[name];
  });
}

async function conversation(page, url, seen) {
  await recordSocketUrls(page);
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(url + "/");
  seen.title = await page.title();
  seen.widget_tags = await page.$$eval('script[src*="widget.js"]', (n) => n.length);
  await visible(page, "#atelier-launcher");
  await page.click("#atelier-launcher");
  await visible(page, "#atelier-panel");
  seen.panel_opened = true;

  await send(page, "hi");
  await waitFor(page, "the bot's welcome", () => Array.from(document.querySelectorAll(
    '.atelier-msg[data-role="bot"]:not([data-local])')).some((n) => /welcome/i.test(n.textContent)));
  seen.welcome = await lastBotText(page);
  seen.input_after_enter = await page.$eval("#atelier-input", (n) => n.value);
  seen.quick_replies = await page.$$eval(".atelier-quick-reply", (n) => n.map((b) => b.textContent));

  await clickByText(page, ".atelier-quick-reply", "Ceramic mugs");
  await visible(page, ".atelier-card");
  // The first picture is in view; the others may wait for scrolling (loading="lazy").
  await waitFor(page, "the first card's picture to load", () => {
    const img = document.querySelector(".atelier-card img");
    return img && img.complete && img.naturalWidth > 0;
  }).catch(() => null);
  seen.quick_replies_after_answer = await page.$$(".atelier-quick-reply").then((n) => n.length);
  seen.cards = await cards(page);

  await clickByText(page, ".atelier-card-button", "Tell me more");
  await waitFor(page, "the answer to the card's button", () => Array.from(document.querySelectorAll(
    '.atelier-msg[data-role="bot"]')).some((n) => n.textContent.includes("/product_details")));
  seen.card_button_answer = await lastBotText(page);
  seen.before_reload = await screen(page);
  Object.assign(seen, await page.evaluate(() => ({
    conversation_id: localStorage.getItem("atelier.conversation_id"),
    secret: localStorage.getItem("atelier.conversation_secret"),
    socket_urls: window.__socketUrls,
  })));

  await page.reload();
  await visible(page, "#atelier-launcher");
  await page.click("#atelier-launcher");
  await visible(page, ".atelier-card");
  await new Promise((resolve) => setTimeout(resolve, 500)); // the reconnect's replay must not add anything
  seen.after_reload = await screen(page);
  seen.cards_after_reload = await cards(page);
  seen.pending_after_reload = await page.$$(".atelier-msg.is-pending").then((n) => n.length);
}

async function phone(page, url, seen) {
  const width = 375, height = 740;
  await page.setViewport({ width, height, deviceScaleFactor: 2 });
  await page.goto(url + "/");
  await visible(page, "#atelier-launcher");
  await page.click("#atelier-launcher");
  await visible(page, "#atelier-panel");
  seen.viewport = await page.evaluate(() => ({ width: innerWidth, height: innerHeight }));
  const box = (selector) => page.$eval(selector, (n) => {
    const r = n.getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  });
  seen.panel = await box("#atelier-panel");
  await send(page, "show me ceramic mugs");
  await visible(page, ".atelier-card");
  seen.boxes = {};
  for (const selector of ["#atelier-input", "#atelier-send", ".atelier-card", ".atelier-close"]) {
    seen.boxes[selector] = await box(selector);
  }
  seen.scroll_width = await page.evaluate(() => document.documentElement.scrollWidth);
  seen.input_font_size = await page.$eval("#atelier-input", (n) => getComputedStyle(n).fontSize);
}

let stdinLines = null;

async function pause(what) {
  stdinLines = stdinLines || readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  process.stdout.write(JSON.stringify({ pause: what }) + "\n");
  const { done } = await stdinLines.next();
  if (done) throw new Error(`stdin closed while paused for ${what}`);
}

const botSaid = (page, text, count) => waitFor(page, `${count} bot message(s) reading "${text}"`,
  (t, n) => Array.from(document.querySelectorAll('.atelier-msg[data-role="bot"]'))
    .filter((m) => m.textContent.includes(t)).length === n, text, count);

async function reconnect(page, url, seen) {
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(url + "/");
  await visible(page, "#atelier-launcher");
  await page.click("#atelier-launcher");
  await send(page, "hello");
  await botSaid(page, "You said: hello", 1);
  // the gateway goes away (the socket drops) while the shopper types
  await pause("stop_gateway");
  seen.gateway_down = true;
  await waitFor(page, "the reconnecting notice", () =>
    document.querySelector("#atelier-status").textContent.includes("Reconnecting"));
  await send(page, "are you there?");
  seen.pending_while_down = await page.$$(".atelier-msg.is-pending").then((n) => n.length);
  seen.status_while_down = await page.$eval("#atelier-status", (n) => n.textContent);
  // and comes back (a new process): the widget reconnects by itself and sends what waited
  await pause("start_gateway");
  await botSaid(page, "You said: are you there?", 1);
  seen.gateway_down = false; // reconnected: any failed attempt has been reported by now
  await waitFor(page, "no message left pending", () => !document.querySelector(".atelier-msg.is-pending"));
  seen.status_after = await page.$eval("#atelier-status", (n) => n.textContent);
  seen.conversation_id = await page.evaluate(() => localStorage.getItem("atelier.conversation_id"));
  seen.before_reload = await screen(page);
  await page.reload();
  await visible(page, "#atelier-launcher");
  await page.click("#atelier-launcher");
  await botSaid(page, "You said: are you there?", 1);
  await new Promise((resolve) => setTimeout(resolve, 500)); // the reconnect's replay must not add anything
  seen.after_reload = await screen(page);
}

const SCENARIOS = { conversation, phone, reconnect };

async function main() {
  const [scenario, url, executablePath] = process.argv.slice(2);
  if (!SCENARIOS[scenario] || !url || !executablePath) {
    throw new Error("usage: widget.cjs conversation|phone|reconnect <app url> <firefox binary>");
  }
  const started = Date.now();
  const seen = { scenario, page_errors: [], page_errors_while_down: [], gateway_down: false };
  const browser = await puppeteer.launch({ browser: "firefox", executablePath, headless: true });
  let page = null;
  try {
    seen.browser = await browser.version();
    page = await browser.newPage();
    // Firefox reports a WebSocket that cannot connect as a page error too: those are
    // kept apart while the test has the gateway down.
    page.on("pageerror", (error) => (seen.gateway_down ? seen.page_errors_while_down : seen.page_errors)
      .push(String(error && error.message || error)));
    await SCENARIOS[scenario](page, url, seen);
  } catch (error) {
    seen.error = String(error && error.message || error);
    seen.screen = page ? await screen(page).catch(() => null) : null;
  } finally {
    await browser.close();
    if (stdinLines) stdinLines.return();
  }
  seen.elapsed_ms = Date.now() - started;
  return seen;
}

main().then(
  (seen) => process.stdout.write(JSON.stringify(seen) + "\n"),
  (error) => {
    process.stdout.write(JSON.stringify({ error: String(error && error.stack || error) }) + "\n");
    process.exitCode = 1;
  },
);
