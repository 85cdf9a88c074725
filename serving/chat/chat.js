// ragloop's chat page: the server's own API, the user's key, no library, no build step.
// Every string from the server or a document is rendered as text (textContent / text nodes), never as HTML.
"use strict";

const KEY = "ragloop.key";
const THREAD = "ragloop.thread";
const $ = (selector) => document.querySelector(selector);
let key = sessionStorage.getItem(KEY) || "";
let thread = sessionStorage.getItem(THREAD) || "";
let running = null; // {thread, run, abort} while an answer is being written
let turns = 0;

// An element with attributes and children; strings become text nodes.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child !== undefined && child !== null) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// ---- talking to the server -------------------------------------------------------------------------------
class Problem extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status; // the HTTP status it came with (0: not from a response)
  }
}

async function problem(response) {
  let detail = "";
  try {
    const body = await response.json();
    detail = typeof body.detail === "string" ? body.detail : (body.message || JSON.stringify(body.detail || ""));
  } catch (_) { /* no JSON body */ }
  const wait = response.headers.get("retry-after");
  const status = response.status;
  switch (status) {
    case 401:
    case 403:
      if (/api key/i.test(detail) || status === 401) return new Problem(`The server did not accept this API key (${detail || status}). Check it and enter it again.`, 401);
      return new Problem(detail || "This key may not do that.", status);
    case 413: return new Problem(`That is too large for this server: ${detail}`, status);
    case 422: return new Problem(`The server refused it: ${detail}`, status);
    case 429: return new Problem(`${detail || "Too many requests for this key."}${wait ? ` Try again in ${humanSeconds(Number(wait))}.` : ""}`, status);
    default: return new Problem(`The server answered ${status}${detail ? `: ${detail.replace(/[.\s]+$/, "")}` : ""}.`, status);
  }
}

async function api(path, { method = "GET", body, signal } = {}) {
  const headers = { "x-api-key": key };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, { method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new Problem("The server cannot be reached. Is it running?");
  }
  if (!response.ok) throw await problem(response);
  return response.status === 204 ? null : response;
}

const json = async (path, options) => (await api(path, options)).json();

// Server-sent events from a streamed run: yields [event, data].
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) yield [event, JSON.parse(data.join("\n"))];
    }
  }
}

// ---- messages ----------------------------------------------------------------------------------------------
function textOf(message) {
  const content = message && message.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((block) => (block && block.type === "text" ? block.text || "" : "")).join("");
  return "";
}

// The answer without the markdown sources list the message carries for chat UIs that render markdown.
const answerPart = (text) => text.split("\n\n**Sources**")[0];

function humanSeconds(seconds) {
  if (!isFinite(seconds)) return "a while";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

// The answer's text with each [n] marker a link to its source card.
function withMarkers(text, turn, cited) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
    parts.push(text.slice(last, match.index));
    for (const n of match[1].split(",").map((number) => number.trim())) {
      parts.push(cited.has(n) ? el("a", { class: "marker", href: `#src-${turn}-${n}`, "aria-label": `source ${n}` }, `[${n}]`) : `[${n}]`);
    }
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

const STOPS = { unanswerable: "not in the documents", answered: "answered" };

function costLine(meta, seconds) {
  const d = meta.difficulty || {}, b = meta.budget || {};
  const bits = [];
  if (d.level) bits.push(["difficulty", `${d.level}${d.confidence != null ? ` (confidence ${Number(d.confidence).toFixed(2)})` : ""}`]);
  if (b.docs !== undefined) {
    bits.push(["budget", b.from_draft ? "the difficulty draft" : `${b.docs} docs × ${b.samples} sample${b.samples === 1 ? "" : "s"}${b.partitions > 1 ? `, ${b.partitions} slices` : ""}${b.refine_rounds ? `, ${b.refine_rounds} refine rounds` : ""}${b.model ? `, ${b.model}` : ""}`]);
  }
  bits.push(["tokens", String(meta.tokens ?? 0)]);
  if (seconds !== undefined) bits.push(["seconds", seconds.toFixed(1)]);
  bits.push(["cost", `$${Number(meta.cost_usd || 0).toFixed(4)}`]);
  bits.push(["stopped", STOPS[meta.stop_reason] || meta.stop_reason || "…"]);
  return el("p", { class: "cost" }, bits.map(([name, value], i) => [i ? " · " : "", `${name} `, el("b", {}, value)]));
}

function sourceCards(citations, turn) {
  return el("ol", { class: "sources", "aria-label": "Sources" }, citations.map((c) => {
    const where = [c.source, c.section ? `§ ${c.section}` : null, c.page ? `page ${c.page}` : null,
      c.rerank_score != null ? `rerank ${Number(c.rerank_score).toFixed(3)}` : null].filter(Boolean).join(" · ");
    return el("li", { class: "source", id: `src-${turn}-${c.n}`, tabindex: "-1" },
      el("div", { class: "head" }, `[${c.n}] ${c.title || c.source || c.id}`),
      el("div", { class: "where" }, where),
      c.cited_text ? el("blockquote", {}, c.cited_text) : null);
  }));
}

// One question and its answer, as the conversation shows them; returns the parts a stream fills in.
function addTurn(question) {
  const turn = ++turns;
  const text = el("p", { class: "text" });
  const timeline = el("ul", { class: "timeline", "aria-label": "Steps" });
  const answer = el("div", { class: "answer" }, text, timeline);
  const item = el("li", { class: "turn" }, el("div", { class: "question" }, question), answer);
  $("#conversation").append(item);
  return { turn, item, text, timeline, answer };
}

function finishTurn(parts, message, seconds) {
  const meta = message.response_metadata || {};
  const citations = meta.citations || [];
  const text = answerPart(textOf(message)) || meta.answer || "";
  parts.text.classList.remove("writing");
  parts.text.classList.toggle("abstained", meta.stop_reason === "unanswerable");
  parts.text.replaceChildren(...withMarkers(text, parts.turn, new Set(citations.map((c) => String(c.n)))));
  parts.answer.append(costLine(meta, seconds));
  if (citations.length) parts.answer.append(sourceCards(citations, parts.turn));
}

// ---- asking ------------------------------------------------------------------------------------------------
async function ask(question) {
  if (!thread) {
    const created = await json("/threads", { method: "POST", body: { metadata: { title: question.slice(0, 80) } } });
    thread = created.thread_id;
    sessionStorage.setItem(THREAD, thread);
  }
  const parts = addTurn(question);
  parts.text.classList.add("writing");
  parts.text.textContent = "";
  const abort = new AbortController();
  running = { thread, run: null, abort };
  setBusy(true);
  const started = performance.now();
  const streamed = new Map(); // message id -> text so far
  let final = null;
  try {
    const response = await api(`/threads/${encodeURIComponent(thread)}/runs/stream`, {
      method: "POST",
      signal: abort.signal,
      body: {
        assistant_id: $("#assistant").value || "ragloop",
        input: { messages: [{ role: "user", content: question }] },
        stream_mode: ["messages-tuple", "updates"],
        on_disconnect: "cancel",
      },
    });
    for await (const [event, data] of events(response)) {
      if (event === "metadata") running.run = data.run_id;
      else if (event === "error") throw new Problem(`The run failed: ${data.message || data.error || "an internal error"}.`);
      else if (event === "messages") {
        const [message] = data;
        if (message.type !== "AIMessageChunk" && message.type !== "ai") continue;
        const so_far = (message.type === "ai" ? "" : streamed.get(message.id) || "") + textOf(message);
        streamed.set(message.id, so_far);
        parts.text.textContent = answerPart(so_far);
        if (message.type === "ai" && message.name === "ragloop") final = message;
      } else if (event === "updates") {
        for (const [node, update] of Object.entries(data)) {
          if (node.startsWith("__")) continue;
          const seconds = update && update.timings && update.timings[node];
          parts.timeline.append(el("li", {}, seconds != null ? `${node} ${Number(seconds).toFixed(1)} s` : node));
          const messages = (update && update.messages) || [];
          const answer = messages.filter((m) => m.type === "ai" && m.name === "ragloop").pop();
          if (answer) final = answer;
        }
      }
    }
    if (!final) throw new Problem("The run ended without an answer.");
    finishTurn(parts, final, (performance.now() - started) / 1000);
  } catch (error) {
    parts.text.classList.remove("writing");
    if (error.name === "AbortError") parts.text.append(el("span", { class: "muted" }, " (stopped)"));
    else {
      parts.text.append(el("span", { class: "muted" }, " (no answer)"));
      say(error);
    }
  } finally {
    running = null;
    setBusy(false);
    loadThreads().catch(say);
  }
}

async function stop() {
  if (!running) return;
  const { thread: t, run, abort } = running;
  if (run) await api(`/threads/${encodeURIComponent(t)}/runs/${encodeURIComponent(run)}/cancel`, { method: "POST" }).catch(() => {});
  abort.abort();
}

function setBusy(busy) {
  $("#send").disabled = busy;
  $("#stop").hidden = !busy;
}

// ---- threads -----------------------------------------------------------------------------------------------
function threadTitle(t) {
  const values = t.values || {};
  const first = (values.messages || []).find((m) => m.type === "human");
  return (t.metadata && t.metadata.title) || values.asked || (first && textOf(first)) || "(no question yet)";
}

async function loadThreads() {
  const list = await json("/threads/search", { method: "POST", body: { limit: 30, sort_by: "updated_at", sort_order: "desc" } });
  $("#threads").replaceChildren(...list.map((t) => el("li", {},
    el("button", { type: "button", class: "thread", "aria-current": t.thread_id === thread ? "true" : "false",
      title: threadTitle(t), onclick: () => openThread(t.thread_id) }, threadTitle(t)))));
}

// The assistants of the ragloop graph: an operator may preset settings in one (a budget, a model).
async function loadAssistants() {
  const list = await json("/assistants/search", { method: "POST", body: { graph_id: "ragloop", limit: 50 } });
  const chosen = sessionStorage.getItem("ragloop.assistant");
  $("#assistant").replaceChildren(...list.map((a) => el("option", { value: a.assistant_id, selected: a.assistant_id === chosen },
    a.name || a.assistant_id)));
}

async function openThread(id) {
  thread = id;
  sessionStorage.setItem(THREAD, id);
  $("#conversation").replaceChildren();
  const state = await json(`/threads/${encodeURIComponent(id)}/state`);
  let question = null;
  for (const message of ((state.values || {}).messages || [])) {
    if (message.type === "human") question = textOf(message);
    else if (message.type === "ai" && question !== null) {
      finishTurn(addTurn(question), message);
      question = null;
    }
  }
  await loadThreads();
  $("#question").focus();
}

function newThread() {
  thread = "";
  sessionStorage.removeItem(THREAD);
  $("#conversation").replaceChildren();
  loadThreads().catch(say);
  $("#question").focus();
}

// ---- documents ---------------------------------------------------------------------------------------------
async function loadSources() {
  let summary;
  try {
    summary = await json("/index");
  } catch (error) {
    $("#sources").replaceChildren(el("li", { class: "muted" }, error.message));
    return;
  }
  const sources = summary.sources || [];
  $("#sources").replaceChildren(...(sources.length ? sources.map((source) => el("li", {},
    el("span", {}, source),
    el("button", { type: "button", class: "quiet", "aria-label": `Delete ${source}`, onclick: () => removeSource(source) }, "Delete")))
    : [el("li", { class: "muted" }, "No documents yet.")]));
}

const base64 = (file) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
  reader.onerror = () => reject(new Problem(`${file.name} could not be read.`));
  reader.readAsDataURL(file);
});

async function waitForJob(job, what) {
  const status = $("#upload-status");
  for (;;) {
    const state = await json(`/index/jobs/${encodeURIComponent(job.id)}`);
    if (state.status === "done") {
      status.textContent = `${what}: done (${state.added_chunks ?? 0} chunks added, ${state.removed_chunks ?? 0} removed).`;
      return;
    }
    if (state.status === "failed") throw new Problem(`${what} failed: ${state.error}`);
    status.textContent = `${what}: ${state.status}${state.to_embed ? ` ${state.embedded}/${state.to_embed}` : ""}…`;
    await new Promise((resolve) => setTimeout(resolve, 700));
  }
}

async function upload(files) {
  if (!files.length) return;
  const status = $("#upload-status");
  status.textContent = `Reading ${files.length} file${files.length === 1 ? "" : "s"}…`;
  const documents = [];
  for (const file of files) documents.push({ source: file.name, base64: await base64(file) });
  const job = await json("/index/documents", { method: "POST", body: { documents } });
  await waitForJob(job, `Adding ${documents.map((d) => d.source).join(", ")}`);
  await loadSources();
}

async function removeSource(source) {
  if (!confirm(`Delete ${source} from your documents?`)) return;
  const job = await json(`/index/sources/${encodeURIComponent(source)}`, { method: "DELETE" });
  await waitForJob(job, `Deleting ${source}`);
  await loadSources();
}

// ---- the page ----------------------------------------------------------------------------------------------
let hideError;
function say(error) {
  const box = $("#error");
  box.textContent = error instanceof Problem ? error.message : `Something went wrong: ${error.message || error}`;
  box.hidden = false;
  clearTimeout(hideError);
  hideError = setTimeout(() => { box.hidden = true; }, 12000);
}

async function start() {
  try {
    await loadThreads(); // checks the key
  } catch (error) {
    say(error);
    if (error.status === 401) { // the key itself was refused: ask for it again
      sessionStorage.removeItem(KEY);
      key = "";
      $("#login").hidden = false;
      $("#app").hidden = true;
      return;
    } // anything else (a busy server, 429): the key stands; the page opens and says what happened
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#forget").hidden = false;
  $("#who").textContent = `key …${key.slice(-4)}`;
  await loadAssistants().catch(say);
  if (thread) await openThread(thread).catch(() => newThread());
  loadSources();
  $("#question").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login").addEventListener("submit", (event) => {
    event.preventDefault();
    key = $("#key").value.trim();
    sessionStorage.setItem(KEY, key);
    $("#key").value = "";
    start();
  });
  $("#forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(THREAD);
    location.reload();
  });
  $("#ask").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = $("#question").value.trim();
    if (!question || running) return;
    $("#question").value = "";
    ask(question).catch(say);
  });
  $("#question").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("#ask").requestSubmit();
    }
  });
  $("#stop").addEventListener("click", () => stop().catch(say));
  $("#assistant").addEventListener("change", () => sessionStorage.setItem("ragloop.assistant", $("#assistant").value));
  $("#new-thread").addEventListener("click", newThread);
  $("#upload").addEventListener("submit", (event) => {
    event.preventDefault();
    upload([...$("#files").files]).catch(say).finally(() => { $("#files").value = ""; });
  });
  if (key) start();
});
