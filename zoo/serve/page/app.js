// The page of `zoo serve`: pick a model, drop files or type text, see the predictions. Plain JS, no build step.
// Everything the server sends is put in with textContent (never as HTML).
"use strict";

const $ = (id) => document.getElementById(id);
let models = [];
let token = sessionStorage.getItem("zoo-token") || "";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    $("token-box").hidden = false;
    $("status").textContent = "this server needs a token";
    throw new Error("missing or wrong token");
  }
  return response;
}

function current() { return models.find((m) => m.name === $("model").value); }

async function loadModels() {
  try {
    const response = await api("/v1/models");
    models = (await response.json()).models;
  } catch (e) { return; }
  const select = $("model");
  select.replaceChildren(...models.map((m) => el("option", { value: m.name, text: m.name })));
  const ready = await api("/ready");
  $("status").textContent = ready.ok ? `${models.length} model(s) ready` : "loading models…";
  if (!ready.ok) setTimeout(loadModels, 1000);
  showModel();
}

function metricsTable(metrics) {
  const rows = [];
  for (const [split, values] of Object.entries(metrics || {})) {
    for (const [name, value] of Object.entries(values)) {
      if (name === "loss") continue;
      rows.push(el("tr", {}, el("td", { text: split }), el("td", { text: name }),
        el("td", { text: typeof value === "number" ? value.toFixed(4) : String(value) })));
    }
  }
  return rows.length ? el("table", {}, el("tbody", {}, ...rows)) : el("p", { class: "muted", text: "no metrics" });
}

async function showModel() {
  const model = current();
  const card = $("card");
  card.replaceChildren();
  $("options").replaceChildren();
  if (!model) return;
  card.append(el("p", { text: model.summary || "" }));
  card.append(el("p", { class: "muted", text: `task ${model.task || "?"} · recipe ${model.recipe}` }));
  if (!model.ready) { card.append(el("p", { class: "error", text: model.error || "loading…" })); return; }
  card.append(metricsTable(model.metrics));
  card.append(el("p", { class: "muted", text: `data: ${model.data.source} (licence: ${model.data.licence})` }));
  const kinds = (model.input && model.input.kinds) || [];
  $("kinds").textContent = model.input ? model.input.description : "";
  const typed = ["text", "fen", "pgn", "numbers", "fasta"];
  $("text-box").hidden = kinds.length > 0 && !kinds.some((k) => typed.includes(k));  // images, films, sound: files
  $("text").placeholder = kinds.includes("fen") ? "paste a FEN, one per line"
    : kinds.includes("text") || kinds.includes("numbers") ? "…or type text or numbers, one input per line"
    : "…or type text, one input per line";
  for (const option of model.options || []) {
    const input = el("input", { type: option.flag ? "checkbox" : "text", "data-option": option.name });
    $("options").append(el("label", { title: option.help }, input, " " + option.name));
  }
  try {
    const text = await (await api(model.card)).text();
    card.append(el("details", {}, el("summary", { text: "model card" }), el("pre", { text })));
  } catch (e) { /* the card is optional */ }
}

function options() {
  const query = new URLSearchParams({ files: "base64" });
  for (const input of document.querySelectorAll("[data-option]")) {
    if (input.type === "checkbox" ? input.checked : input.value) {
      query.set(input.dataset.option, input.type === "checkbox" ? "true" : input.value);
    }
  }
  return query.toString();
}

async function predict(body, previews) {
  const model = current();
  if (!model) return;
  const results = $("results");
  results.replaceChildren(el("p", { class: "muted", text: "predicting…" }));
  let response, answer;
  try {
    response = await api(`/v1/models/${model.name}/predict?${options()}`, body);
    answer = await response.json();
  } catch (e) {
    results.replaceChildren(el("p", { class: "error", text: String(e.message || e) }));
    return;
  }
  if (!response.ok) {
    results.replaceChildren(el("p", { class: "error", text: `${response.status}: ${answer.detail}` }));
    return;
  }
  results.replaceChildren(...answer.predictions.map((p, i) => showPrediction(p, previews[i])));
}

function bar(name, value) {
  const fill = el("div", { class: "fill" });
  fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
  return el("div", { class: "bar" }, el("span", { text: name }), el("div", { class: "track" }, fill),
    el("span", { text: value.toFixed(3) }));
}

function showPrediction(p, preview) {
  const box = el("div", { class: "result" }, el("h3", { text: p.input }));
  if (p.error) { box.append(el("p", { class: "error", text: p.error })); return box; }
  if (p.label !== undefined) box.append(el("div", { class: "label", text: String(p.label) }));
  const rows = [];
  for (const [key, value] of Object.entries(p)) {
    if (["input", "label", "files"].includes(key)) continue;
    if (typeof value === "number" && value >= 0 && value <= 1 && !Number.isInteger(value)) box.append(bar(key, value));
    else if (value && typeof value === "object" && !Array.isArray(value) &&
             Object.values(value).every((v) => typeof v === "number" && v >= 0 && v <= 1)) {
      for (const [name, v] of Object.entries(value).sort((a, b) => b[1] - a[1]).slice(0, 10)) box.append(bar(name, v));
    } else rows.push(el("tr", {}, el("td", { class: "muted", text: key }),
      el("td", { text: typeof value === "object" ? JSON.stringify(value) : String(value) })));
  }
  if (rows.length) box.append(el("table", { class: "kv" }, el("tbody", {}, ...rows)));
  const move = p.move || p.best_move || p.bestmove;
  if (move && typeof p.input === "string" && p.input.split("/").length >= 8) box.append(board(p.input, String(move)));
  const images = el("div", { class: "images" });
  const files = p.files || [];
  const pictures = files.filter((f) => f.media_type.startsWith("image/"));
  const heat = pictures.find((f) => /heat|cam|map/i.test(f.name));
  if (preview && heat) {
    images.append(el("figure", {}, el("div", { class: "overlay" }, el("img", { src: preview, alt: "input" }),
      el("img", { src: dataUrl(heat), alt: heat.name })), el("figcaption", { text: `${heat.name} over the input` })));
  } else if (preview) {
    images.append(el("figure", {}, el("img", { src: preview, alt: "input" }), el("figcaption", { text: "input" })));
  }
  for (const f of pictures) images.append(el("figure", {}, el("img", { src: dataUrl(f), alt: f.name }),
    el("figcaption", { text: f.name })));
  for (const f of files.filter((f) => f.media_type.startsWith("audio/"))) {
    images.append(el("figure", {}, el("audio", { controls: "", src: dataUrl(f) }), el("figcaption", { text: f.name })));
  }
  if (images.childElementCount) box.append(images);
  // other files (the prediction itself as JSON is left out: it is shown above) as downloads
  const others = files.filter((f) => !f.media_type.startsWith("image/") && !f.media_type.startsWith("audio/") &&
    f.media_type !== "application/json");
  for (const f of others) box.append(el("p", {}, el("a", { href: dataUrl(f), download: f.name, text: f.name })));
  return box;
}

function dataUrl(file) { return file.url || `data:${file.media_type};base64,${file.base64}`; }

const PIECES = { K: "♔", Q: "♕", R: "♖", B: "♗", N: "♘", P: "♙", k: "♚", q: "♛", r: "♜", b: "♝", n: "♞", p: "♟" };

function board(fen, move) {
  const grid = el("div", { class: "board", title: `${fen} · ${move}` });
  const squares = [move.slice(0, 2), move.slice(2, 4)];
  fen.split(" ")[0].split("/").forEach((row, r) => {
    let c = 0;
    for (const ch of row) {
      const count = /\d/.test(ch) ? Number(ch) : 1;
      for (let k = 0; k < count; k++, c++) {
        const name = "abcdefgh"[c] + (8 - r);
        const cell = el("div", { class: ((r + c) % 2 ? "dark" : "light") + (squares.includes(name) ? " moved" : ""),
          text: /\d/.test(ch) ? "" : PIECES[ch] || ch });
        grid.append(cell);
      }
    }
  });
  return el("figure", {}, grid, el("figcaption", { text: `move ${move}` }));
}

function sendFiles(files) {
  if (!files.length) return;
  const form = new FormData();
  const previews = [];
  for (const f of files) {
    form.append("file", f, f.name);
    previews.push(f.type.startsWith("image/") ? URL.createObjectURL(f) : null);
  }
  predict({ method: "POST", body: form }, previews);
}

function sendText() {
  const lines = $("text").value.split("\n").map((s) => s.trim()).filter(Boolean);
  if (!lines.length) return;
  predict({ method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ inputs: lines }) },
    lines.map(() => null));
}

$("file").addEventListener("change", (e) => sendFiles([...e.target.files]));
$("send-text").addEventListener("click", sendText);
$("model").addEventListener("change", showModel);
$("token").value = token;
$("token").addEventListener("change", (e) => {
  token = e.target.value; sessionStorage.setItem("zoo-token", token); loadModels();
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); sendFiles([...e.dataTransfer.files]); });
loadModels();
