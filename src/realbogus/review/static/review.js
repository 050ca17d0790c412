// The review page: keyboard-first decisions on candidates in rank order.
// The server is the only source of truth: every decision is shown as saved only after
// the server answered (it has fsync'ed the record by then).
"use strict";

const PAGE_SIZE = 12;
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

const view = { state: null, selected: 0, page: -1, reviewer: "" };
let queue = Promise.resolve();  // decisions go to the server one at a time, in key order

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

async function load(reviewer) {
  const query = reviewer ? `?reviewer=${encodeURIComponent(reviewer)}` : "";
  const state = await api(`/api/state${query}`);
  view.state = state;
  view.reviewer = state.reviewer;
  view.page = -1;
  $("reviewer").value = state.reviewer;
  $("version").textContent = `${state.candidates_file} · ${state.candidates_version.slice(0, 8)}`;
  const url = new URL(window.location.href);
  url.searchParams.set("reviewer", state.reviewer);
  history.replaceState(null, "", url);
  updateProgress(state.progress);
  select(state.resume_index);
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
  const channels = ["temp", "srch", "diff"];
  card.querySelectorAll(".stamps img").forEach((img, n) => {
    img.src = `/api/stamp/${candidate.id}/${channels[n]}.png?token=${encodeURIComponent(TOKEN)}`;
  });
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
  const candidates = view.state.candidates;
  const start = page * PAGE_SIZE;
  const end = Math.min(candidates.length, start + PAGE_SIZE);
  for (let i = start; i < end; i++) grid.appendChild(buildCard(candidates[i], i));
  const pages = Math.max(1, Math.ceil(candidates.length / PAGE_SIZE));
  $("page-text").textContent = `${start + 1}–${end} of ${candidates.length} · page ${page + 1}/${pages}`;
  $("prev-page").disabled = page === 0;
  $("next-page").disabled = page >= pages - 1;
  view.page = page;
}

function cardAt(index) {
  return $("grid").querySelector(`.card[data-index="${index}"]`);
}

function select(index) {
  const count = view.state.candidates.length;
  if (!count) return;
  index = Math.max(0, Math.min(count - 1, index));
  const page = Math.floor(index / PAGE_SIZE);
  if (page !== view.page) renderPage(page);
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

function nextOpen(from) {
  const candidates = view.state.candidates;
  for (let k = 1; k <= candidates.length; k++) {
    const i = (from + k) % candidates.length;
    if (!candidates[i].decision) return i;
  }
  return -1;
}

function applyResult(result) {
  const index = view.state.candidates.findIndex((c) => c.id === result.id);
  if (index >= 0) {
    view.state.candidates[index].decision = result.decision;
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
  const candidate = view.state.candidates[index];
  const reviewer = view.reviewer;
  // Move on at once so a fast reviewer is never kept waiting; the save follows in order.
  const next = nextOpen(index);
  if (next >= 0 && next !== index) select(next);
  queue = queue.then(async () => {
    try {
      const result = await api("/api/decision", { reviewer, id: candidate.id, decision });
      applyResult(result);
      showStatus(`saved: ID ${candidate.id} → ${DECISION_NAMES[decision]}`);
    } catch (error) {
      showStatus(`not saved: ID ${candidate.id}: ${error.message}`, true);
      select(index);
    }
  });
  return queue;
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
    PageDown: PAGE_SIZE, PageUp: -PAGE_SIZE,
  };
  if (KEY_DECISIONS[key]) decide(KEY_DECISIONS[key]);
  else if (key === "z" || key === "Backspace") undo();
  else if (key in moves) select(view.selected + moves[key]);
  else if (key === "Home") select(0);
  else if (key === "End") select(view.state.candidates.length - 1);
  else if (key === "n") { const i = nextOpen(view.selected); if (i >= 0) select(i); }
  else return;
  event.preventDefault();
});

$("prev-page").addEventListener("click", () => select((view.page - 1) * PAGE_SIZE));
$("next-page").addEventListener("click", () => select((view.page + 1) * PAGE_SIZE));
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
