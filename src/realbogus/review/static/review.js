// The review page: keyboard-first decisions on candidates in rank order.
// The server is the only source of truth: every decision is shown as saved only after
// the server answered (it has fsync'ed the record by then).
// Candidates come a page at a time (/api/candidates), the next page fetched ahead, and
// at most MAX_CACHED_PAGES are kept: the page stays as quick and as small with the
// paper's 8,093 candidates as with 300.
"use strict";

const MAX_CACHED_PAGES = 24;
const CHANNELS = ["temp", "srch", "diff"];
const LABEL_NAMES = { 0: "non-artifact", 1: "artifact" };
const DECISION_NAMES = { "artifact": "artifact", "non-artifact": "non-artifact", "unsure": "unsure", "skip": "skipped" };
const KEY_DECISIONS = { a: "artifact", r: "non-artifact", u: "unsure", s: "skip" };
const CATEGORY_MEANING = {
  1: "strongly mis-classified artifact (label 1, score < 0.1)",
  2: "weakly mis-classified artifact (label 1, score 0.1-0.5)",
  3: "correctly classified artifact (label 1, score >= 0.5)",
  4: "correctly classified non-artifact (label 0, score < 0.5)",
  5: "weakly mis-classified non-artifact (label 0, score 0.5-0.9)",
  6: "strongly mis-classified non-artifact (label 0, score >= 0.9)",
};

// The server's token for this reviewer, from the address the review command printed.
// Every API call carries it; without it the server answers 403.
const TOKEN = new URL(window.location.href).searchParams.get("token") || "";

const view = {
  state: null, selected: 0, page: -1, reviewer: "", total: 0, pageSize: 12,
  pages: new Map(),    // page number -> its candidates (each with its decision), at most MAX_CACHED_PAGES
  loading: new Map(),  // page number -> the request fetching it
  pending: new Set(),  // ids whose decision is on its way to the server
  generation: 0,       // bumped when another reviewer's list is loaded: late answers are dropped
};
let queue = Promise.resolve();  // decisions go to the server one at a time, in key order
let selectSerial = 0;           // the latest selection wins when pages arrive out of order

const $ = (id) => document.getElementById(id);

function showStatus(text, isError = false) {
  const box = $("status");
  box.textContent = text;
  box.className = "status show" + (isError ? " error" : "");
  clearTimeout(showStatus.timer);
  showStatus.timer = setTimeout(() => { box.className = "status"; }, isError ? 6000 : 1800);
}

async function api(path, body) {
  const headers = { "X-Review-Token": TOKEN };
  const options = body === undefined ? { headers } : {
    method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const payload = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(payload.error || `HTTP ${response.status}`);
  return payload;
}

function reviewerQuery() {
  return `reviewer=${encodeURIComponent(view.reviewer)}`;
}

function candidateAt(index) {
  const candidates = view.pages.get(Math.floor(index / view.pageSize));
  return candidates ? candidates[index % view.pageSize] : undefined;
}

function keepPage(page, candidates) {
  view.pages.set(page, candidates);
  while (view.pages.size > MAX_CACHED_PAGES) {
    // Drop the page farthest from the one on screen.
    let farthest = page;
    for (const cached of view.pages.keys()) {
      if (Math.abs(cached - view.page) > Math.abs(farthest - view.page)) farthest = cached;
    }
    view.pages.delete(farthest);
  }
}

function fetchPage(page) {
  if (view.pages.has(page)) return Promise.resolve(view.pages.get(page));
  if (view.loading.has(page)) return view.loading.get(page);
  const generation = view.generation;
  const request = api(`/api/candidates?${reviewerQuery()}&start=${page * view.pageSize}&count=${view.pageSize}`)
    .then((result) => {
      if (generation === view.generation) keepPage(page, result.candidates);
      return result.candidates;
    })
    .finally(() => { if (generation === view.generation) view.loading.delete(page); });
  view.loading.set(page, request);
  return request;
}

function stampUrl(candidate, channel) {
  return `/api/stamp/${candidate.id}/${channel}.png?token=${encodeURIComponent(TOKEN)}`;
}

// The next page's candidates and stamps (the browser caches the images), so paging on
// shows it at once; the previous page's candidates too.  A miss is retried on demand.
function prefetchAround(page) {
  const pages = Math.ceil(view.total / view.pageSize);
  if (page + 1 < pages) {
    fetchPage(page + 1).then((candidates) => {
      for (const candidate of candidates) {
        for (const channel of CHANNELS) new Image().src = stampUrl(candidate, channel);
      }
    }).catch(() => {});
  }
  if (page > 0) fetchPage(page - 1).catch(() => {});
}

async function load(reviewer) {
  const query = reviewer ? `?reviewer=${encodeURIComponent(reviewer)}` : "";
  const state = await api(`/api/state${query}`);
  view.generation += 1;
  view.state = state;
  view.reviewer = state.reviewer;
  view.total = state.total;
  view.pageSize = state.page_size;
  view.pages.clear();
  view.loading.clear();
  view.page = -1;
  keepPage(Math.floor(state.start / view.pageSize), state.candidates);
  $("reviewer").value = state.reviewer;
  $("version").textContent = `${state.candidates_file} · ${state.candidates_version.slice(0, 8)}`;
  const url = new URL(window.location.href);
  url.searchParams.set("reviewer", state.reviewer);
  history.replaceState(null, "", url);
  updateProgress(state.progress);
  await select(state.resume_index);
  if (state.read_only) {
    showStatus(`read-only: ${state.reviewer}'s decisions; yours are saved as ${state.token_reviewer}`, true);
  }
  document.body.dataset.ready = "true";
}

function updateProgress(progress) {
  view.state.progress = progress;
  const { decided, skipped, total } = progress;
  $("progress-text").textContent = `${decided} of ${total} decided` + (skipped ? ` · ${skipped} skipped` : "");
  $("progress-fill").style.width = `${total ? (100 * (decided + skipped)) / total : 0}%`;
  $("done").hidden = decided + skipped < total;
}

function categoryClass(category) {
  return category === 1 || category === 6 ? "strong" : category === 2 || category === 5 ? "weak" : "agree";
}

function buildCard(candidate, index) {
  const card = $("card-template").content.firstElementChild.cloneNode(true);
  card.dataset.index = index;
  card.dataset.id = candidate.id;
  card.querySelector(".rank").textContent = `#${candidate.rank}`;
  card.querySelector(".cid").textContent = `ID ${candidate.id}`;
  const given = card.querySelector(".given");
  given.textContent = `given: ${LABEL_NAMES[candidate.given_label]}`;
  given.classList.add(`l${candidate.given_label}`);
  if (candidate.rank_score !== null) given.title = `rank score ${candidate.rank_score}`;
  card.querySelectorAll(".stamps img").forEach((img, n) => { img.src = stampUrl(candidate, CHANNELS[n]); });
  const body = card.querySelector("tbody");
  view.state.members.forEach((member, m) => {
    const score = candidate.scores[m];
    const category = candidate.categories[m];
    const row = document.createElement("tr");
    // Built with DOM calls, not HTML strings: member names are data, and the page's
    // Content-Security-Policy forbids inline style attributes.
    row.innerHTML = `<td></td><td><div class="scorecell"><div class="scorebar"><b></b><i></i></div>` +
      `<span class="scoreval"></span></div></td><td><span class="cat"></span></td>`;
    row.firstChild.textContent = member;
    const bar = row.querySelector(".scorebar i");
    bar.style.width = `${(100 * score).toFixed(1)}%`;
    bar.style.background = score >= 0.5 ? "var(--artifact)" : "var(--non-artifact)";
    row.querySelector(".scoreval").textContent = score.toFixed(3);
    const cat = row.querySelector(".cat");
    cat.textContent = category;
    cat.classList.add(categoryClass(category));
    cat.title = CATEGORY_MEANING[category] || "";
    body.appendChild(row);
  });
  card.querySelectorAll(".actions button").forEach((button) => {
    button.addEventListener("click", () => { select(index); decide(button.dataset.decision); });
  });
  card.addEventListener("click", () => select(index));
  paintDecision(card, candidate.decision);
  return card;
}

function paintDecision(card, decision) {
  if (decision) card.dataset.decision = decision; else delete card.dataset.decision;
  card.querySelector(".decision-badge").textContent = decision ? DECISION_NAMES[decision] : "";
}

function renderPage(page) {
  const grid = $("grid");
  grid.replaceChildren();
  const candidates = view.pages.get(page);
  const start = page * view.pageSize;
  const end = start + candidates.length;
  candidates.forEach((candidate, n) => grid.appendChild(buildCard(candidate, start + n)));
  const pages = Math.max(1, Math.ceil(view.total / view.pageSize));
  $("page-text").textContent = `${start + 1}–${end} of ${view.total} · page ${page + 1}/${pages}`;
  $("prev-page").disabled = page === 0;
  $("next-page").disabled = page >= pages - 1;
  view.page = page;
}

function cardAt(index) {
  return $("grid").querySelector(`.card[data-index="${index}"]`);
}

async function select(index) {
  const count = view.total;
  if (!count) return;
  index = Math.max(0, Math.min(count - 1, index));
  const serial = ++selectSerial;
  const page = Math.floor(index / view.pageSize);
  if (page !== view.page || !view.pages.has(page)) {
    try {
      await fetchPage(page);
    } catch (error) {
      showStatus(`could not load page ${page + 1}: ${error.message}`, true);
      return;
    }
    if (serial !== selectSerial) return;  // another selection came after this one
    renderPage(page);
    prefetchAround(page);
  }
  const previous = cardAt(view.selected);
  if (previous) previous.classList.remove("selected");
  view.selected = index;
  const card = cardAt(index);
  card.classList.add("selected");
  card.scrollIntoView({ block: "nearest" });
}

function columns() {
  const cards = $("grid").querySelectorAll(".card");
  if (!cards.length) return 1;
  const top = cards[0].offsetTop;
  let n = 0;
  while (n < cards.length && cards[n].offsetTop === top) n++;
  return Math.max(1, n);
}

function isOpen(candidate) {
  return !candidate.decision && !view.pending.has(candidate.id);
}

// The first candidate after `from` (wrapping round) without a decision, -1 if none: from
// the pages loaded here as far as they reach, else from the server, which knows every
// saved decision (one on its way is skipped too).
async function nextOpen(from) {
  const total = view.total;
  let after = from;
  for (let k = 1; k <= total; k++) {
    const i = (from + k) % total;
    if (i === from) return -1;
    const candidate = candidateAt(i);
    if (candidate === undefined) break;
    if (isOpen(candidate)) return i;
    after = i;
  }
  for (let tries = 0; tries < 8; tries++) {
    const { index } = await api(`/api/next-open?${reviewerQuery()}&after=${after}`);
    if (index === null || index === from) return -1;
    const candidate = candidateAt(index);
    if (candidate === undefined || isOpen(candidate)) return index;
    after = index;
  }
  return -1;
}

function applyResult(result) {
  const index = result.index ?? -1;
  const candidate = index >= 0 ? candidateAt(index) : undefined;
  if (candidate) {
    candidate.decision = result.decision;
    const card = cardAt(index);
    if (card) paintDecision(card, result.decision);
  }
  updateProgress(result.progress);
  return index;
}

function decide(decision) {
  if (view.state.read_only) {
    showStatus(`read-only: this page shows ${view.reviewer}'s decisions; open your own to decide`, true);
    return queue;
  }
  const index = view.selected;
  const candidate = candidateAt(index);
  if (!candidate) return queue;
  const reviewer = view.reviewer;
  view.pending.add(candidate.id);
  queue = queue.then(async () => {
    try {
      const result = await api("/api/decision", { reviewer, id: candidate.id, decision });
      applyResult(result);
      showStatus(`saved: ID ${candidate.id} → ${DECISION_NAMES[decision]}`);
    } catch (error) {
      showStatus(`not saved: ID ${candidate.id}: ${error.message}`, true);
      select(index);
    } finally {
      view.pending.delete(candidate.id);
    }
  });
  // Move on at once so a fast reviewer is never kept waiting; the save follows in order.
  moveOn(index);
  return queue;
}

async function moveOn(index) {
  try {
    const next = await nextOpen(index);
    // Unless the reviewer moved elsewhere meanwhile.
    if (next >= 0 && next !== index && view.selected === index) await select(next);
  } catch (error) {
    showStatus(`could not find the next open candidate: ${error.message}`, true);
  }
}

function undo() {
  const reviewer = view.reviewer;
  queue = queue.then(async () => {
    try {
      const result = await api("/api/undo", { reviewer });
      if (result.id === null) { showStatus("nothing to undo"); return; }
      const index = applyResult(result);
      if (index >= 0) select(index);
      showStatus(`undone: ID ${result.id}` + (result.decision ? ` (now ${DECISION_NAMES[result.decision]})` : ""));
    } catch (error) {
      showStatus(`undo failed: ${error.message}`, true);
    }
  });
  return queue;
}

document.addEventListener("keydown", (event) => {
  if (!view.state || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target instanceof HTMLInputElement) return;  // typing a name, not deciding
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  const moves = {
    ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns(),
    PageDown: view.pageSize, PageUp: -view.pageSize,
  };
  if (KEY_DECISIONS[key]) decide(KEY_DECISIONS[key]);
  else if (key === "z" || key === "Backspace") undo();
  else if (key in moves) select(view.selected + moves[key]);
  else if (key === "Home") select(0);
  else if (key === "End") select(view.total - 1);
  else if (key === "n") moveOn(view.selected);
  else return;
  event.preventDefault();
});

$("prev-page").addEventListener("click", () => select((view.page - 1) * view.pageSize));
$("next-page").addEventListener("click", () => select((view.page + 1) * view.pageSize));
$("reviewer").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    const name = event.target.value.trim();
    if (name && name !== view.reviewer) {
      queue = queue.then(() => load(name)).catch((error) => showStatus(error.message, true));
    }
    event.target.blur();
  } else if (event.key === "Escape") {
    event.target.value = view.reviewer;
    event.target.blur();
  }
});

load(new URL(window.location.href).searchParams.get("reviewer")).catch((error) => {
  $("progress-text").textContent = "could not load";
  showStatus(`could not load the candidates: ${error.message}`, true);
});
