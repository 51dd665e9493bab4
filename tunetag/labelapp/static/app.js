"use strict";
// tunetag label page: shows one song at a time and saves labels through the local server.
// Keyboard first; every request carries the session token the server put in the URL.

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const SEEK_STEP_S = 5;
const LIVE_POLL_MS = 1000; // how often the page asks how the live model is doing
const LIVE_RETRY_MS = 5000; // ... and, after a failed ask, when it tries again
const FLAT_GAIN = 0.01; // a likely gain below this: the learning curve has flattened
const WHY_FAINTEST = 0.12; // a why segment's opacity at a push of nothing: still seen and clicked

const app = {
  state: null, // last state the server sent
  // song ids: the songs shown so far (the first `seen`), then the songs ahead. Without a live
  // model the whole queue is taken once; with one, the songs ahead follow its newest order.
  queue: [],
  seen: 0, // songs at the front of queue already shown: the history that ↑ walks back through
  queueVersion: -1, // the live model's fit that ordered the songs ahead
  index: 0, // position in queue; queue.length means "past the end"
  song: null, // song shown, or null (loading failed, or past the end)
  loading: null, // promise of the song load in flight, or null
  loadSeq: 0, // number of the latest song load; older answers are dropped
  pending: new Map(), // song id -> label saves sent but not answered yet
  saveChain: Promise.resolve(), // saves and undos run one at a time, in key order
  keymap: new Map(), // key -> {task, cls}
  taskShape: "", // tasks and classes the panels were built for
  playOnLoad: false, // start playing when the next audio source is ready
  live: null, // the live model's state from the server, or null (the page does not learn)
  liveVersion: 0, // the newest fit of the live model the page knows of
  liveDrawn: "", // the live state last drawn, so the panel is redrawn only when it changes
  keep: null, // the status of keeping the model as a run folder
  why: null, // {songId, why}: the live model's pushes of the shown song's seconds, or null
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- small helpers

/** Creates an element; attrs go to properties, except data-*, aria-* and class. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-") || name.startsWith("aria-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function bar(fraction, className = "bar") {
  const fill = el("i");
  fill.style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 1000) / 10}%`;
  return el("span", { class: className }, fill);
}

function formatTime(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function formatLabels(labels) {
  return labels && labels.length ? labels.join(", ") : "(none)";
}

function songName(song) {
  return song.title || song.path.split(/[\\/]/).pop() || `song ${song.id}`;
}

function findTask(name) {
  return app.state ? app.state.tasks.find((t) => t.name === name) : undefined;
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function showError(text) {
  setStatus(text, true);
}

// ---------------------------------------------------------------- server

/** Calls the JSON API; throws an Error carrying the server's one-line message. */
async function api(method, path, body) {
  const init = { method, headers: { "X-Tunetag-Token": TOKEN } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new Error("the tunetag server does not answer (was it stopped?)");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null; // an error page that is not JSON: the status line says enough
  }
  if (!response.ok) {
    throw new Error((data && data.error) || `HTTP ${response.status} ${response.statusText}`);
  }
  return data;
}

/** Runs job after every earlier save or undo has been answered. */
function enqueue(job) {
  app.saveChain = app.saveChain.then(job).catch((err) => showError(String(err)));
  return app.saveChain;
}

function changePending(id, delta) {
  const n = (app.pending.get(id) || 0) + delta;
  if (n > 0) app.pending.set(id, n);
  else app.pending.delete(id);
}

// ---------------------------------------------------------------- state and progress

function applyState(state) {
  if (app.state === null) app.queue = state.queue.slice();
  if (state.live) followQueue(state.queue, state.live.version);
  app.state = state;
  app.keymap = new Map();
  for (const task of state.tasks) {
    for (const cls of task.classes) {
      const key = task.keys[cls];
      if (key && !app.keymap.has(key)) app.keymap.set(key, { task: task.name, cls });
    }
  }
  renderSource();
  renderProgress();
  renderTasks();
  renderPosition();
  if (state.live) renderKeepKey();
}

/**
 * Keeps the songs already shown and takes the songs ahead from the server's newest order
 * (the live model reorders them after every fit); an answer from an older fit is ignored.
 */
function followQueue(serverQueue, version) {
  if (version < app.queueVersion) return;
  app.queueVersion = version;
  const shown = app.queue.slice(0, app.seen);
  const isShown = new Set(shown);
  app.queue = shown.concat(serverQueue.filter((id) => !isShown.has(id)));
}

function renderSource() {
  const s = app.state;
  const parts = [`labelling ${s.csv}`, `order: ${s.order}`];
  if (s.live) parts.push(`guesses from the live model${s.run ? `, else ${s.run}` : ""}`);
  else parts.push(s.run ? `guesses from ${s.run}` : "no model guesses");
  $("source").textContent = parts.join(" · ");
}

function renderProgress() {
  const s = app.state;
  const panel = $("progress");
  const overall = el(
    "div",
    { class: "overall" },
    el("h2", {}, "Progress"),
    el("span", { class: "overall-count" }, `${s.complete} / ${s.total} songs labelled`),
  );
  const tasks = el("div", { class: "progress-tasks" });
  for (const task of s.tasks) tasks.append(progressTask(task, s.progress[task.name]));
  panel.replaceChildren(overall, bar(s.total ? s.complete / s.total : 0, "bar big"), tasks);
}

function progressTask(task, progress) {
  const total = app.state.total || 1;
  const counts = (progress && progress.classes) || {};
  const box = el("div", { class: "progress-task", "data-task": task.name }, el("h3", {}, task.name));
  for (const cls of task.classes) {
    const n = counts[cls] || 0;
    box.append(progressRow(cls, n, n / total, ""));
  }
  const unlabelled = progress ? progress.unlabelled : 0;
  box.append(progressRow("unlabelled", unlabelled, unlabelled / total, "unlabelled"));
  return box;
}

function progressRow(name, count, fraction, extraClass) {
  return el(
    "div",
    { class: `progress-row ${extraClass}`.trim() },
    el("span", { class: "name" }, name),
    bar(fraction),
    el("span", { class: "count" }, String(count)),
  );
}

function renderPosition() {
  const n = app.queue.length;
  const pos = app.index < n ? `${app.index + 1} / ${n}` : `done / ${n}`;
  $("position").textContent = pos;
}

// ---------------------------------------------------------------- task panels

/** Builds the panels when tasks or classes change, then marks the song's labels. */
function renderTasks() {
  const shape = JSON.stringify(app.state.tasks);
  if (shape !== app.taskShape) {
    app.taskShape = shape;
    const typed = keepTypedText();
    $("tasks").replaceChildren(...app.state.tasks.map(taskPanel));
    typed();
  }
  renderLabels();
}

function taskPanel(task) {
  const buttons = el("div", { class: "classes" });
  for (const cls of task.classes) {
    const button = el(
      "button",
      { type: "button", class: "label", "data-task": task.name, "data-class": cls },
      el("kbd", {}, task.keys[cls] || "·"),
      el("span", { class: "class-name" }, cls),
      el("span", { class: "prob" }, el("i")),
    );
    button.setAttribute("aria-pressed", "false");
    button.addEventListener("click", () => {
      button.blur(); // so that Space plays audio instead of pressing the button again
      whenShown(() => giveLabel(task.name, cls, true));
    });
    buttons.append(button);
  }
  const input = el("input", {
    class: "new-class",
    "data-task": task.name,
    type: "text",
    placeholder: "new class, Enter adds it",
    autocomplete: "off",
    spellcheck: false,
  });
  const kind = task.multi_label ? "any number of labels" : "one label";
  const panel = el(
    "section",
    { class: "card task", "data-task": task.name },
    el("h3", {}, task.name, el("span", { class: "muted small kind" }, kind)),
    buttons,
    el("div", { class: "guess", "data-task": task.name, hidden: true }),
    input,
  );
  panel.style.flexGrow = String(Math.max(1, task.classes.length));
  return panel;
}

/** Saves what is typed in the new-class fields; returns a function that puts it back. */
function keepTypedText() {
  const fields = [...document.querySelectorAll("input.new-class")];
  const values = new Map(fields.map((f) => [f.dataset.task, f.value]));
  const focused = fields.find((f) => f === document.activeElement);
  const focusedTask = focused ? focused.dataset.task : null;
  return () => {
    for (const f of document.querySelectorAll("input.new-class")) {
      f.value = values.get(f.dataset.task) || "";
      if (f.dataset.task === focusedTask) f.focus();
    }
  };
}

/** Marks the shown song's labels and the model's guess on the panels and the song card. */
function renderLabels() {
  const song = app.song;
  for (const button of document.querySelectorAll("button.label")) {
    const labels = song ? song.labels[button.dataset.task] || [] : [];
    button.setAttribute("aria-pressed", String(labels.includes(button.dataset.class)));
  }
  renderGuesses();
  renderCurrentLabels();
}

function renderGuesses() {
  const guesses = (app.song && app.song.guess) || {};
  // at least this fit of the live model made the guess shown (the tests wait on it)
  $("song").dataset.guessVersion = app.song ? String(app.song.guessVersion || 0) : "";
  for (const box of document.querySelectorAll(".guess")) {
    const guess = guesses[box.dataset.task];
    box.hidden = !guess;
    const buttons = document.querySelectorAll(`button.label[data-task="${CSS.escape(box.dataset.task)}"]`);
    for (const button of buttons) {
      const p = guess ? guess[button.dataset.class] || 0 : 0;
      button.querySelector(".prob i").style.width = `${Math.round(p * 100)}%`;
    }
    if (!guess) continue;
    const [best, p] = Object.entries(guess).sort((a, b) => b[1] - a[1])[0] || ["–", 0];
    box.replaceChildren(
      el("span", { class: "muted" }, "model guess"),
      el("b", {}, best),
      bar(p),
      el("span", { class: "count" }, `${Math.round(p * 100)}%`),
    );
    // A labelled song's guess comes from the inner fold that never saw it: where it doubts
    // the label, say so beside the guess, as the second-listen list does.
    for (const doubt of songDoubts(app.song.id, box.dataset.task)) {
      const text = `second listen: trained without this song, ${doubtText(doubt)}`;
      box.append(el("span", { class: "doubt-note" }, text));
    }
  }
  renderWhy(); // the strips follow the guess, or the label where there is one
}

function renderCurrentLabels() {
  const box = $("current-labels");
  if (!app.song || !app.state) {
    box.replaceChildren();
    return;
  }
  const chips = app.state.tasks.map((task) => {
    const labels = app.song.labels[task.name] || [];
    return el(
      "span",
      { class: labels.length ? "chip" : "chip empty" },
      el("span", { class: "muted" }, task.name),
      labels.length ? labels.join(", ") : "unlabelled",
    );
  });
  box.replaceChildren(...chips);
}

// ---------------------------------------------------------------- labelling

/**
 * Gives the shown song a class: set in a single-label task; in a multi-label task added, or
 * taken away again when `toggle` is true (a class key toggles, a typed new class only adds).
 */
function giveLabel(taskName, cls, toggle) {
  const song = app.song;
  if (!song) {
    showError(`not saved: ${taskName} = ${cls}, because no song is shown`);
    return;
  }
  const task = findTask(taskName);
  const now = song.labels[taskName] || [];
  let labels = [cls];
  if (task && task.multi_label) {
    if (!now.includes(cls)) labels = [...now, cls];
    else labels = toggle ? now.filter((c) => c !== cls) : now;
  }
  saveLabels(song, taskName, labels);
}

/** Adds the class typed in a task's "new class" field to the song being shown. */
function addNewClass(input) {
  const name = input.value.trim();
  const taskName = input.dataset.task;
  input.blur();
  if (!name) return;
  input.value = "";
  whenShown(() => giveLabel(taskName, name, false));
}

function saveLabels(song, taskName, labels) {
  // Shown at once, so that a second key on a multi-label task builds on the first.
  song.labels[taskName] = labels;
  renderLabels();
  changePending(song.id, +1);
  setStatus(`saving ${taskName} = ${formatLabels(labels)} …`);
  enqueue(() => postLabels(song, taskName, labels));
}

async function postLabels(song, taskName, labels) {
  const version = app.liveVersion;
  let reply;
  try {
    reply = await api("POST", `/api/songs/${song.id}/labels`, { task: taskName, labels });
  } catch (err) {
    changePending(song.id, -1);
    showError(`NOT saved: ${taskName} = ${formatLabels(labels)} for "${songName(song)}": ${err.message}`);
    enqueue(() => refreshSong(song.id)); // the labels shown were a guess; ask the server
    return;
  }
  changePending(song.id, -1);
  reply.song.guessVersion = version;
  setStatus(`saved ${taskName} = ${formatLabels(reply.song.labels[taskName])}`);
  applyState(reply.state);
  const isShown = app.song && app.song.id === reply.song.id;
  if (!isShown || app.pending.has(song.id)) return; // later saves for this song decide
  app.song = reply.song;
  renderLabels();
  if (isComplete(reply.song) && !app.state.tasks.some((t) => t.multi_label)) {
    showIndex(app.index + 1, !$("player").paused);
  }
}

function isComplete(song) {
  return app.state.tasks.every((t) => (song.labels[t.name] || []).length > 0);
}

/** Reloads the shown song's labels after a failed save, unless newer saves are on the way. */
async function refreshSong(id) {
  if (!app.song || app.song.id !== id || app.pending.has(id)) return;
  try {
    const song = await api("GET", `/api/songs/${id}`);
    if (app.song && app.song.id === id && !app.pending.has(id)) {
      app.song.labels = song.labels;
      renderLabels();
    }
  } catch (err) {
    showError(`${$("status").textContent}; reloading the song failed too: ${err.message}`);
  }
}

function undo() {
  setStatus("undoing …");
  enqueue(async () => {
    try {
      const reply = await api("POST", "/api/undo");
      applyState(reply.state);
      const i = historyIndex(reply.song.id);
      if (i >= 0) app.index = i;
      renderPosition();
      app.loadSeq += 1; // a song load still in flight must not replace the restored song
      app.loading = null;
      showSong(reply.song, !$("player").paused);
      const labels = app.state.tasks.map((t) => `${t.name} = ${formatLabels(reply.song.labels[t.name])}`);
      setStatus(`undone: "${songName(reply.song)}" is now ${labels.join(", ")}`);
    } catch (err) {
      showError(`undo failed: ${err.message}`);
    }
  });
}

// ---------------------------------------------------------------- showing songs

/** Runs fn once the song being loaded is shown, so keys pressed right after ↓ hit it. */
function whenShown(fn) {
  const loading = app.loading;
  if (loading) loading.then(() => whenShown(fn));
  else fn();
}

function go(delta) {
  const target = Math.max(0, Math.min(app.queue.length, app.index + delta));
  if (target === app.index) {
    setStatus(delta < 0 ? "this is the first song in the queue" : "the queue is done");
    return;
  }
  showIndex(target, !$("player").paused);
}

/** The song's place in the history of songs shown; a song not shown yet joins its end. */
function historyIndex(id) {
  const i = app.queue.indexOf(id);
  if (i < 0 || i < app.seen) return i;
  app.queue.splice(i, 1);
  app.queue.splice(app.seen, 0, id);
  app.seen += 1;
  return app.seen - 1;
}

/**
 * Shows a song out of turn (a second listen): it joins the history just before the song
 * shown, so that ↓, or labelling it, comes back to where the person was.
 */
function jumpTo(id) {
  if (app.song && app.song.id === id) return;
  const old = app.queue.indexOf(id);
  if (old >= 0) {
    app.queue.splice(old, 1);
    if (old < app.seen) app.seen -= 1;
    if (old < app.index) app.index -= 1;
  }
  app.queue.splice(app.index, 0, id);
  app.seen += 1;
  showIndex(app.index, !$("player").paused);
}

/** Shows queue[index], or the end-of-queue message; keeps playing if play is true. */
function showIndex(index, play) {
  app.index = index;
  if (index < app.queue.length) app.seen = Math.max(app.seen, index + 1);
  renderPosition();
  const seq = ++app.loadSeq;
  if (index >= app.queue.length) {
    app.loading = null;
    showDone();
    return;
  }
  app.loading = loadSong(app.queue[index], seq, play).then(() => {
    if (seq === app.loadSeq) app.loading = null;
  });
}

/** Fetches and shows one song unless a newer load (number seq) has started meanwhile. */
async function loadSong(id, seq, play) {
  const version = app.liveVersion;
  try {
    const song = await api("GET", `/api/songs/${id}`);
    song.guessVersion = version;
    if (seq === app.loadSeq) showSong(song, play);
  } catch (err) {
    if (seq === app.loadSeq) showLoadFailed(id, err);
  }
}

/** Shows no song, so that a class key cannot label the song that was shown before. */
function showLoadFailed(id, err) {
  $("player").pause();
  app.song = null;
  $("song").dataset.songId = "";
  $("song").classList.add("no-song");
  $("title").textContent = `song ${id} could not be loaded`;
  $("byline").textContent = "";
  $("path").textContent = "";
  renderLabels();
  showError(`could not load song ${id}: ${err.message}`);
}

function showSong(song, play) {
  const isNew = !app.song || app.song.id !== song.id;
  app.song = song;
  $("song").dataset.songId = String(song.id);
  $("song").classList.remove("no-song");
  $("done").hidden = true;
  if (isNew) app.why = null;
  renderSongText(song);
  renderLabels();
  if (isNew) {
    loadMedia(song, play);
    loadWhy(song.id);
  }
}

function renderSongText(song) {
  document.title = `${songName(song)} · tunetag`;
  $("title").textContent = songName(song);
  const byline = [song.artist, song.album].filter(Boolean).join(" — ");
  $("byline").textContent = byline || "unknown artist";
  $("path").textContent = song.path;
  const w = song.window;
  $("window-start").textContent = formatTime(w.start_s);
  $("window-end").textContent = formatTime(w.end_s);
  $("window-text").textContent =
    `analysis window, ${Math.round(w.end_s - w.start_s)} s of ${formatTime(song.duration_s)}`;
  $("audio-note").textContent = song.audio_note || "";
  $("audio-note").hidden = !song.audio_note;
}

function loadMedia(song, play) {
  const player = $("player");
  app.playOnLoad = play;
  $("playhead").hidden = true;
  $("spectrogram").src = song.image_url;
  player.src = song.audio_url; // loadedmetadata moves it to the window's start
}

function showDone() {
  const player = $("player");
  player.pause();
  app.song = null;
  $("song").dataset.songId = "";
  $("song").classList.add("no-song");
  $("done").hidden = false;
  $("title").textContent = "Queue done";
  $("byline").textContent = "";
  $("path").textContent = "";
  document.title = "done · tunetag";
  renderLabels();
}

// ---------------------------------------------------------------- audio and playhead

function onMetadata() {
  const player = $("player");
  const song = app.song;
  if (song) {
    const end = Number.isFinite(player.duration) ? player.duration : song.window.start_s;
    player.currentTime = Math.min(song.window.start_s, end);
  }
  if (app.playOnLoad) {
    player.play().catch((err) => showError(`could not play: ${err.message}`));
  }
  app.playOnLoad = false;
  drawPlayhead();
}

function onAudioError() {
  const player = $("player");
  if (!player.getAttribute("src") || !app.song) return;
  const detail = player.error && player.error.message ? `: ${player.error.message}` : "";
  showError(`the browser cannot play "${songName(app.song)}"${detail}`);
}

function togglePlay() {
  const player = $("player");
  if (!app.song) return;
  if (player.paused) player.play().catch((err) => showError(`could not play: ${err.message}`));
  else player.pause();
}

function seekBy(seconds) {
  const player = $("player");
  if (!app.song || !Number.isFinite(player.duration)) return;
  player.currentTime = Math.max(0, Math.min(player.duration, player.currentTime + seconds));
  drawPlayhead();
}

/** Draws the playhead over the image while the audio is inside the analysis window. */
function drawPlayhead() {
  const head = $("playhead");
  const song = app.song;
  const t = $("player").currentTime;
  if (!song || t < song.window.start_s || t > song.window.end_s) {
    head.hidden = true;
    return;
  }
  const span = song.window.end_s - song.window.start_s || 1;
  head.style.left = `${((t - song.window.start_s) / span) * 100}%`;
  head.hidden = false;
}

function playheadLoop() {
  drawPlayhead();
  if (!$("player").paused) requestAnimationFrame(playheadLoop);
}

/** Plays from ``start`` (seconds in the file): a click on a why strip's segment. */
function playFrom(start) {
  const player = $("player");
  if (!app.song || !Number.isFinite(player.duration)) return;
  player.currentTime = Math.max(0, Math.min(player.duration, start));
  player.play().catch((err) => showError(`could not play: ${err.message}`));
  drawPlayhead();
}

/** A click on the image seeks to that moment of the window. */
function onImageClick(ev) {
  const player = $("player");
  const song = app.song;
  if (!song || !Number.isFinite(player.duration)) return;
  const rect = ev.currentTarget.getBoundingClientRect();
  const fraction = (ev.clientX - rect.left) / rect.width;
  player.currentTime = song.window.start_s + fraction * (song.window.end_s - song.window.start_s);
  drawPlayhead();
}

// ---------------------------------------------------------------- keyboard

function isTextField(node) {
  if (!node || !node.tagName) return false;
  if (node.isContentEditable || node.tagName === "TEXTAREA" || node.tagName === "SELECT") return true;
  if (node.tagName !== "INPUT") return false;
  return !["button", "checkbox", "radio", "range", "submit", "reset"].includes(node.type);
}

function onFieldKey(ev) {
  const field = ev.target;
  if (ev.key === "Enter" && field.classList.contains("new-class")) {
    ev.preventDefault();
    addNewClass(field);
  } else if (ev.key === "Escape") {
    ev.preventDefault();
    field.blur();
  }
}

/** Keys that act once per press; a held key does not repeat them. */
const PRESS_ACTIONS = {
  " ": togglePlay,
  Backspace: undo,
  ArrowUp: () => go(-1),
  ArrowDown: () => go(+1),
};

const KEEP_KEY = "k"; // unless a class has it: labelling comes first

const REPEAT_ACTIONS = {
  ArrowLeft: () => seekBy(-SEEK_STEP_S),
  ArrowRight: () => seekBy(+SEEK_STEP_S),
};

// Listens in the capture phase on window, so the page (not a focused audio element or button)
// decides what Space and the arrows do.
function onKey(ev) {
  if (ev.isComposing) return;
  if (isTextField(ev.target)) {
    onFieldKey(ev);
    return;
  }
  const ctrl = ev.ctrlKey || ev.metaKey;
  if (ctrl && !ev.altKey && !ev.shiftKey && ev.key.toLowerCase() === "z") {
    ev.preventDefault();
    if (!ev.repeat) undo();
    return;
  }
  if (ctrl || ev.altKey) return; // leave the browser's own shortcuts alone
  const action = PRESS_ACTIONS[ev.key] || REPEAT_ACTIONS[ev.key];
  if (action) {
    ev.preventDefault();
    if (!ev.repeat || REPEAT_ACTIONS[ev.key]) action();
    return;
  }
  const target = app.keymap.get(ev.key) || app.keymap.get(ev.key.toLowerCase());
  if (target) {
    ev.preventDefault();
    if (!ev.repeat) whenShown(() => giveLabel(target.task, target.cls, true));
    return;
  }
  if (ev.key.toLowerCase() === KEEP_KEY && app.live) {
    ev.preventDefault();
    if (!ev.repeat) keepModel();
  }
}

// ---------------------------------------------------------------- the live model

const SVG = "http://www.w3.org/2000/svg";

/** Creates an SVG element; attrs are set as attributes. */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

function formatScore(x) {
  return x.toFixed(2);
}

function formatInterval(low, high) {
  return `${formatScore(low)}–${formatScore(high)}`;
}

function formatPercent(p) {
  return p < 0.005 ? "under 1\u00a0%" : `${Math.round(p * 100)}\u00a0%`;
}

function formatSeconds(s) {
  return s < 0.1 ? s.toFixed(2) : s.toFixed(1);
}

function startLive() {
  $("live").hidden = false;
  $("keep").addEventListener("click", () => {
    $("keep").blur(); // so that Space plays audio instead of keeping again
    keepModel();
  });
  applyLive(app.state.live, app.state.keep);
  pollLive();
}

/**
 * Asks the server how the live model is doing, again and again; cheap, so every second.
 * A failed ask is told in the panel (the status line is the person's, for their labels).
 */
async function pollLive() {
  let wait = LIVE_POLL_MS;
  try {
    const reply = await api("GET", "/api/live");
    applyLive(reply.live, reply.keep);
  } catch (err) {
    $("live-fit").textContent = `cannot ask how the live model is doing: ${err.message}`;
    app.liveDrawn = ""; // drawn again once the server answers
    wait = LIVE_RETRY_MS;
  }
  setTimeout(pollLive, wait);
}

function applyLive(live, keep) {
  const isNewFit = live.version > app.liveVersion;
  app.live = live;
  if (isNewFit) {
    app.liveVersion = live.version;
    followNewFit(live.version);
  }
  const drawn = JSON.stringify(live);
  if (drawn !== app.liveDrawn) {
    app.liveDrawn = drawn;
    renderLive();
  }
  renderKeep(keep);
}

/**
 * After a new fit: the songs ahead in its order, and its guess for the song shown. Neither
 * reloads the song, so playback and typed text are left alone.
 */
async function followNewFit(version) {
  try {
    applyState(await api("GET", "/api/state"));
  } catch (err) {
    $("live-fit").textContent = `cannot read the newest queue: ${err.message}`;
  }
  await refreshGuess(version);
  if (app.song) await loadWhy(app.song.id);
}

async function refreshGuess(version) {
  const song = app.song;
  if (!song) return;
  try {
    const fresh = await api("GET", `/api/songs/${song.id}`);
    // an answer for an older fit, or one that comes after another song was shown, is late
    if (app.song !== song || version < (song.guessVersion || 0)) return;
    song.guess = fresh.guess;
    song.guessVersion = version;
    renderGuesses();
  } catch (err) {
    $("live-fit").textContent = `cannot read the newest guess: ${err.message}`;
  }
}

// ---------------------------------------------------------------- why: the strips

/** Asks which seconds of song ``id`` argued for each class; drawn unless the person has
 * moved on or a newer fit's answer came first. A failure is told in the strips' place. */
async function loadWhy(id) {
  if (!app.state.live) return;
  let why;
  try {
    why = (await api("GET", `/api/songs/${id}/why`)).why;
  } catch (err) {
    if (!app.song || app.song.id !== id) return;
    $("why").replaceChildren(el("p", { class: "muted small" }, `cannot read why: ${err.message}`));
    $("why").hidden = false;
    return;
  }
  if (!app.song || app.song.id !== id) return;
  const shown = app.why && app.why.songId === id && app.why.why;
  if (shown && (!why || why.version < shown.version)) return;
  app.why = { songId: id, why };
  renderWhy();
}

/** The shown song's strips: per task, one for each class it is labelled or else guessed. */
function renderWhy() {
  const box = $("why");
  const why = app.song && app.why && app.why.songId === app.song.id ? app.why.why : null;
  const strips = why
    ? app.state.tasks.flatMap((task) =>
        whyClasses(task).map((cls) => whyStrip(why, task.name, cls, app.song.window)),
      )
    : [];
  box.replaceChildren(...strips.filter(Boolean));
  box.hidden = box.childElementCount === 0;
}

/**
 * The classes a task's strips are drawn for: the song's labels (every one a multi-label task
 * gives it), else the guess's: its best class, or every label it gives past one half.
 */
function whyClasses(task) {
  const labels = app.song.labels[task.name] || [];
  if (labels.length) return task.multi_label ? labels : labels.slice(0, 1);
  const guess = (app.song.guess || {})[task.name];
  if (!guess) return [];
  const ranked = Object.entries(guess).sort((a, b) => b[1] - a[1]);
  const given = task.multi_label ? ranked.filter(([, p]) => p >= 0.5) : [];
  return (given.length ? given : ranked.slice(0, 1)).map(([cls]) => cls);
}

/**
 * One task's strip on the spectrogram's time axis (``window``: its start_s and end_s): a
 * segment per stretch, warm where it argued for ``cls``, blue against, grey where it made no
 * change; the stronger, the larger its push (the change in the class's log-odds without it)
 * against the song's largest.
 * A stretch overlapping the next is drawn up to the next one's start; a click plays from it.
 */
function whyStrip(why, taskName, cls, window) {
  const pushes = why.pushes[taskName];
  const column = (why.classes[taskName] || []).indexOf(cls);
  if (!pushes || column < 0) return null;
  const values = pushes.map((row) => row[column]);
  const largest = Math.max(...values.map(Math.abs)) || 1;
  const span = window.end_s - window.start_s || 1;
  const strip = el("div", { class: "why-strip" });
  why.starts_s.forEach((start, k) => {
    const gap = k + 1 < why.starts_s.length ? why.starts_s[k + 1] - start : Infinity;
    const length = Math.max(0, Math.min(why.lengths_s[k], gap));
    const push = values[k];
    const sign = push > 0 ? "+" : "";
    const segment = el("span", {
      class: `why-seg ${push > 0 ? "for" : push < 0 ? "against" : "none"}`,
      title: `${formatTime(start)}-${formatTime(start + length)}: ${sign}${push.toFixed(2)} for ${cls}`,
      "data-start": String(start),
      "data-push": String(push),
    });
    segment.style.left = `${((start - window.start_s) / span) * 100}%`;
    segment.style.width = `${(length / span) * 100}%`;
    segment.style.opacity = String(WHY_FAINTEST + ((1 - WHY_FAINTEST) * Math.abs(push)) / largest);
    segment.addEventListener("click", () => playFrom(start));
    strip.append(segment);
  });
  const named = app.state.tasks.length > 1 ? ` (${taskName})` : "";
  const caption = `why ${cls}${named}: the brighter, the more these seconds argued for it; blue, against; grey, no change`;
  return el(
    "div",
    { class: "why", "data-task": taskName, "data-class": cls },
    strip,
    el("p", { class: "why-caption muted small" }, caption),
  );
}

function renderLive() {
  const live = app.live;
  $("live").dataset.version = String(live.version);
  $("live-fit").textContent =
    live.version > 0
      ? `fit ${live.version}, refitted in ${formatSeconds(live.fit_seconds)} s`
      : "the first fit comes with the first label";
  renderPreparing(live);
  renderGuesses(); // a doubt about the song shown is told beside its guess
  $("live-tasks").replaceChildren(...app.state.tasks.map((task) => liveTask(task, live.tasks[task.name])));
  renderDoubts(live.doubts);
}

/** The songs being prepared for the live model; labelling goes on meanwhile. */
function renderPreparing(live) {
  const box = $("live-preparing");
  const done = live.prepared + live.failed;
  if (live.error) {
    box.hidden = false;
    box.replaceChildren(el("span", { class: "live-error" }, live.error));
    return;
  }
  box.hidden = done >= live.total && live.failed === 0;
  if (box.hidden) return;
  const failed = live.failed ? `, ${live.failed} could not be read` : "";
  if (done >= live.total) {
    const text = `the live model learns from ${live.prepared} songs${failed}`;
    box.replaceChildren(el("span", { class: "muted" }, text));
    return;
  }
  box.replaceChildren(
    el("span", {}, `preparing songs for the live model: ${done} of ${live.total}${failed}`),
    bar(live.total ? done / live.total : 0),
  );
}

function liveTask(task, fit) {
  const box = el("div", { class: "live-task", "data-task": task.name }, el("h3", {}, task.name));
  if (!fit || fit.score === null) {
    const songs = fit ? fit.songs : 0;
    box.append(
      el("p", { class: "live-score pending" }, "a score after 10 labelled songs of classes with 2 each"),
      el("p", { class: "muted small" }, `${songs} labelled so far`),
    );
    return box;
  }
  const interval = fit.interval ? ` (${formatInterval(fit.interval[0], fit.interval[1])})` : "";
  box.append(
    el(
      "p",
      { class: "live-score" },
      el("b", {}, formatScore(fit.score)),
      `${interval}, ${fit.songs} songs`,
      el("span", { class: "muted small" }, ` balanced accuracy of songs held out${scoredText(fit)}`),
    ),
    learningCurve(fit.curve, 1 / Math.max(2, task.classes.length)),
    el("p", { class: "live-gain small" }, gainText(fit)),
  );
  return box;
}

/** " (5 of 9 classes: the others have 1 song)" when the score cannot cover every class yet. */
function scoredText(fit) {
  if (fit.scored_classes >= fit.seen_classes) return "";
  return ` (${fit.scored_classes} of ${fit.seen_classes} classes: the others have 1 song)`;
}

/** Whether more labels still help, from the slope of the learning curve. */
function gainText(fit) {
  if (fit.gain_more_labels === null) return "a few more labels, and the curve tells whether more help";
  if (fit.gain_more_labels < FLAT_GAIN) return "the curve has flattened: more labels add little";
  return `${fit.more_labels} more labels likely add about +${formatScore(fit.gain_more_labels)}`;
}

/** Score against labelled songs as a small SVG: the 95 % interval as a band, chance dashed. */
function learningCurve(points, chance) {
  const width = 300;
  const height = 120;
  const pad = { left: 34, right: 8, top: 8, bottom: 20 };
  const lows = points.map((p) => p[2]);
  const bottom = Math.min(Math.floor(Math.min(...lows, chance) * 10) / 10, 0.5);
  const first = points[0][0];
  const last = Math.max(points[points.length - 1][0], first + 1);
  const x = (n) => pad.left + ((n - first) / (last - first)) * (width - pad.left - pad.right);
  const y = (v) => pad.top + ((1 - v) / (1 - bottom)) * (height - pad.top - pad.bottom);
  const at = (n, v) => `${x(n).toFixed(1)},${y(v).toFixed(1)}`;
  const tick = (px, py, anchor, text) =>
    svg("text", { class: "tick", x: px, y: py, "text-anchor": anchor }, text);
  const band = [...points.map((p) => at(p[0], p[3])), ...[...points].reverse().map((p) => at(p[0], p[2]))];
  const chart = svg(
    "svg",
    { class: "curve", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "learning curve" },
    svg("line", { class: "axis", x1: pad.left, x2: width - pad.right, y1: y(bottom), y2: y(bottom) }),
    svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(1), y2: y(1) }),
    svg("line", { class: "chance", x1: pad.left, x2: width - pad.right, y1: y(chance), y2: y(chance) }),
    tick(pad.left - 4, y(1) + 4, "end", "1.0"),
    tick(pad.left - 4, y(bottom) + 4, "end", bottom.toFixed(1)),
    tick(x(first), height - 4, "start", `${first}`),
    tick(x(last), height - 4, "end", `${last} songs`),
    svg("polygon", { class: "band", points: band.join(" ") }),
    svg("polyline", { class: "line", points: points.map((p) => at(p[0], p[1])).join(" ") }),
  );
  for (const [n, value, low, high] of points) {
    const dot = svg("circle", { class: "point", cx: x(n), cy: y(value), r: 2.5 });
    dot.append(svg("title", {}, `${n} songs: ${formatScore(value)} (${formatInterval(low, high)})`));
    chart.append(dot);
  }
  return chart;
}

/** The doubts about one song's labels in one task. */
function songDoubts(songId, taskName) {
  const doubts = app.live ? app.live.doubts : [];
  return doubts.filter((doubt) => doubt.song === songId && doubt.task === taskName);
}

/** "labelled calm, the model gives it 4 %"; in a multi-label task a doubt may be about a
 *  class left out ("given" false): "calm left out, the model gives that 3 %". */
function doubtText(doubt, withTask = false) {
  const p = formatPercent(doubt.probability);
  const where = withTask ? ` (${doubt.task})` : "";
  if (doubt.given === false) {
    return `${doubt.label} left out${where}, the model gives that ${p}`;
  }
  return `labelled ${doubt.label}${where}, the model gives it ${p}`;
}

/** The labels the model doubts, each a button that shows its song for a second listen. */
function renderDoubts(doubts) {
  const list = $("doubts");
  if (!doubts.length) {
    const checks = Object.values(app.live.tasks).some((fit) => fit.score !== null);
    const none = checks
      ? "none: the model agrees with every label it can check"
      : "none yet: labels are checked once a task has a score";
    list.replaceChildren(el("li", { class: "muted small" }, none));
    return;
  }
  const manyTasks = app.state.tasks.length > 1;
  list.replaceChildren(
    ...doubts.map((doubt) => {
      const text = `: ${doubtText(doubt, manyTasks)}`;
      const button = el(
        "button",
        { type: "button", class: "doubt", "data-song": String(doubt.song), "data-task": doubt.task },
        el("b", {}, doubt.title),
        text,
      );
      button.addEventListener("click", () => {
        button.blur(); // so that Space plays audio instead of jumping again
        jumpTo(doubt.song);
      });
      return el("li", {}, button);
    }),
  );
}

/** K keeps the model, unless a class took the key when classes were added. */
function renderKeepKey() {
  const isFree = !app.keymap.has(KEEP_KEY);
  $("keep-key").hidden = !isFree;
  $("keep").querySelector("kbd").hidden = !isFree;
}

/** Starts writing a run folder with tunetag train (the server runs one at a time). */
async function keepModel() {
  if (app.keep && app.keep.state === "running") {
    setStatus("the model is being kept already: see Keep below");
    return;
  }
  setStatus("keeping the model: tunetag train writes a run folder …");
  try {
    renderKeep((await api("POST", "/api/keep")).keep);
  } catch (err) {
    showError(`could not keep the model: ${err.message}`);
  }
}

function renderKeep(keep) {
  const before = app.keep;
  app.keep = keep;
  if (!keep || JSON.stringify(keep) === JSON.stringify(before)) return;
  const box = $("keep-status");
  box.dataset.state = keep.state;
  $("keep").disabled = keep.state === "running";
  if (keep.state === "idle") {
    box.replaceChildren(
      el("span", { class: "muted" }, "tunetag train writes the auto model and its score to a run folder"),
    );
  } else if (keep.state === "running") {
    const last = keep.message ? ` (${keep.message})` : "";
    box.replaceChildren(el("span", {}, `training the run folder…${last}`));
  } else if (keep.state === "done") {
    box.replaceChildren(
      el("p", {}, "kept in ", el("span", { class: "run" }, keep.run)),
      el("code", {}, keep.command),
    );
  } else {
    box.replaceChildren(
      el("p", { class: "error" }, `keeping failed: ${keep.message}`),
      el("code", {}, keep.command),
    );
  }
  // said once on the status line too, where the person may be looking
  if (!before || before.state !== "running") return;
  if (keep.state === "done") setStatus(`kept the model in ${keep.run}`);
  if (keep.state === "failed") showError(`keeping failed: ${keep.message}`);
}

// ---------------------------------------------------------------- start

async function start() {
  const player = $("player");
  player.addEventListener("loadedmetadata", onMetadata);
  player.addEventListener("error", onAudioError);
  player.addEventListener("play", () => requestAnimationFrame(playheadLoop));
  for (const name of ["timeupdate", "seeked", "pause"]) player.addEventListener(name, drawPlayhead);
  $("spectrogram").addEventListener("click", onImageClick);
  $("spectrogram").addEventListener("error", () => {
    if ($("spectrogram").getAttribute("src")) showError("the spectrogram image did not load");
  });
  window.addEventListener("keydown", onKey, true);

  if (!TOKEN) {
    showError("no token in the address: open the exact URL that `tunetag label` printed");
    return;
  }
  try {
    applyState(await api("GET", "/api/state"));
  } catch (err) {
    showError(`could not load the labelling state: ${err.message}`);
    return;
  }
  setStatus("ready: press a class key to label, Space to listen");
  if (app.state.live) startLive(); // first, so that the first song's guess knows its fit
  showIndex(0, false);
}

document.addEventListener("DOMContentLoaded", start);
