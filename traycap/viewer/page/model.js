// The page's data, as pure functions of the bundle (and of where the page runs):
//   actions   column arrays (t, kind, x, y, detail, masked): 50,000 actions without an object each
//   frames    capture time t (ms) and video time v (s) of every frame, to map one to the other
//   captions  typed text grouped into runs, masked keys kept masked
//   facts     [label, value] lines, already in words
//   shots     screenshots (time, file, reason, and `until`: unchanged until then)
// Pointer coordinates are turned into video pixels here, so drawing only scales them.

const CAPTION_GAP_MS = 1500;  // a pause longer than this between keys starts a new caption
const CAPTION_HOLD_MS = 2000;  // a caption stays on screen this long after its last key
const CAPTION_MAX_CHARS = 400;

const KIND = { MOVE: 0, DOWN: 1, UP: 2, SCROLL: 3, KEY_DOWN: 4, KEY_UP: 5, PAUSE: 6, RESUME: 7, OTHER: 8 };
const KINDS = { mouse_move: 0, mouse_down: 1, mouse_up: 2, scroll: 3, key_down: 4, key_up: 5, pause: 6, resume: 7 };
const KEY_SYMBOLS = { space: " ", enter: "⏎", tab: "⇥", backspace: "⌫", delete: "⌦", esc: "⎋",
  left: "←", right: "→", up: "↑", down: "↓" };
const MODIFIERS = { shift: "Shift", ctrl: "Ctrl", alt: "Alt", alt_gr: "AltGr", cmd: "Super" };

function lastLE(arr, value, n) {  // index of the last element <= value, or -1 (arr sorted)
  let lo = 0, hi = (n === undefined ? arr.length : n) - 1, ans = -1;
  while (lo <= hi) { const mid = (lo + hi) >> 1; if (arr[mid] <= value) { ans = mid; lo = mid + 1; } else hi = mid - 1; }
  return ans;
}

// When a SigV4 presigned URL stops working (epoch ms): X-Amz-Date + X-Amz-Expires; NaN if unsigned.
function presignedExpiry(url) {
  const q = url.searchParams, date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get("X-Amz-Date") || "");
  const expires = Number(q.get("X-Amz-Expires"));
  if (!date || !Number.isFinite(expires)) return NaN;
  const [, y, mo, d, h, mi, se] = date.map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, se) + expires * 1000;
}

function isNum(v) { return typeof v === "number" && Number.isFinite(v); }
function posInt(v) { return Number.isInteger(v) && v > 0 ? v : 0; }

// Screen coordinates (as the input listener saw them) -> video pixels; null off the recorded area.
function videoMapping(info) {
  const video = info.video || {}, monitors = info.monitors || {}, rect = monitors.rect || {};
  const width = posInt(video.width) || posInt(monitors.width) || posInt(rect.width);
  const height = posInt(video.height) || posInt(monitors.height) || posInt(rect.height);
  const scale = isNum(monitors.scale) && monitors.scale > 0 ? monitors.scale : 1;
  const left = Number(rect.left) || 0, top = Number(rect.top) || 0;
  return {
    width, height, left, top, scale,
    point(x, y) {
      const vx = x * scale - left, vy = y * scale - top;
      return vx >= 0 && vx < width && vy >= 0 && vy < height ? [Math.round(vx * 10) / 10, Math.round(vy * 10) / 10] : null;
    },
  };
}

function actionDetail(a) {
  const kind = a.type;
  if (kind === "mouse_down" || kind === "mouse_up") return String(a.button == null ? "" : a.button);
  if (kind === "scroll") {
    const dx = a.dx || 0, dy = a.dy || 0, parts = [];
    if (dy) parts.push((dy > 0 ? "up" : "down") + (Math.abs(dy) !== 1 ? " " + Math.abs(dy) : ""));
    if (dx) parts.push((dx > 0 ? "right" : "left") + (Math.abs(dx) !== 1 ? " " + Math.abs(dx) : ""));
    return parts.join(", ");
  }
  if (kind === "key_down" || kind === "key_up") return String(a.key == null ? "" : a.key);
  return "";
}

function actionColumns(actions, mapping) {
  const cols = { t: [], kind: [], x: [], y: [], detail: [], masked: [] };
  for (const a of actions) {
    if (!isNum(a.t)) continue;
    cols.t.push(Math.round(a.t * 10) / 10);
    cols.kind.push(a.type in KINDS ? KINDS[a.type] : KIND.OTHER);
    const p = isNum(a.x) && isNum(a.y) ? mapping.point(a.x, a.y) : null;
    cols.x.push(p ? p[0] : null);
    cols.y.push(p ? p[1] : null);
    cols.detail.push(actionDetail(a));
    cols.masked.push(a.masked ? 1 : 0);
  }
  return cols;
}

// Typed text as a person reads it: characters as typed, masked keys as "*" (never unmasked),
// Enter/Tab/arrows as symbols, shortcuts as [Ctrl+C]; a new run after CAPTION_GAP_MS or a click.
function captions(actions) {
  const out = [], held = new Set();
  let text = "", start = 0, last = 0;
  for (const a of actions) {
    const kind = a.type;
    if (kind === "mouse_down" && text) { out.push({ start, end: last + CAPTION_HOLD_MS, text }); text = ""; }
    if (kind !== "key_down" && kind !== "key_up") continue;
    if (!isNum(a.t)) continue;
    const key = String(a.key == null ? "" : a.key);
    const base = key in MODIFIERS ? key : key.split("_")[0];
    if (base in MODIFIERS && !a.masked) { if (kind === "key_down") held.add(base); else held.delete(base); continue; }
    if (kind === "key_up") continue;
    const piece = captionPiece(key, Boolean(a.masked), held);
    if (text && a.t - last > CAPTION_GAP_MS) { out.push({ start, end: last + CAPTION_HOLD_MS, text }); text = ""; }
    if (!text) start = a.t;
    text = Array.from(text + piece).slice(-CAPTION_MAX_CHARS).join("");
    last = a.t;
  }
  if (text) out.push({ start, end: last + CAPTION_HOLD_MS, text });
  return out;
}

function captionPiece(key, masked, held) {
  if (masked) return "*";
  const shortcut = ["ctrl", "alt", "cmd"].filter((m) => held.has(m)).map((m) => MODIFIERS[m]);
  if (Array.from(key).length === 1) return shortcut.length ? "[" + [...shortcut, key.toUpperCase()].join("+") + "]" : key;
  if (key in KEY_SYMBOLS && !shortcut.length) return KEY_SYMBOLS[key];
  return "[" + [...shortcut, key.charAt(0).toUpperCase() + key.slice(1).toLowerCase()].join("+") + "]";
}

// Capture time t (ms) and video time v (s, 0 at the first frame), in frame order.
function frameColumns(frames) {
  const t = [], v = [];
  let pts0 = null;
  for (const f of frames) {
    if (!isNum(f.t) || !isNum(f.pts)) continue;
    if (pts0 === null) pts0 = f.pts;
    t.push(Math.round(f.t * 10) / 10);
    v.push(Math.round((f.pts - pts0) / 1000 * 10000) / 10000);
  }
  return { t, v };
}

// The loudness lane: one value per `ms` from each levels line's `t` (recording time), as columns
// {t, db}. Written by the recorder from the samples it encoded (levels.jsonl: the page never decodes
// the sound, which would mean reading the whole video).
function levelColumns(lines) {
  const t = [], db = [];
  for (const line of lines || []) {
    if (!isNum(line.t) || !Array.isArray(line.db)) continue;
    const step = isNum(line.ms) && line.ms > 0 ? line.ms : 100;
    line.db.forEach((v, i) => { if (isNum(v)) { t.push(line.t + i * step); db.push(v); } });
  }
  return { t, db };
}

// What the recording heard, in words: "microphone (Name)", and why anything is missing.
function soundFact(audio) {
  if (!audio || typeof audio !== "object" || audio.mode === "none") return null;
  const what = (audio.devices || []).map((d) => (d.kind === "system" ? "computer's sound" : "microphone")
    + (d.name ? " (" + d.name + ")" : ""));
  let text = what.length ? what.join(" and ") : "none";
  for (const p of audio.problems || []) {
    text += "; " + (isNum(p.atMs) && p.atMs > 0 ? "from " + humanDuration(p.atMs) + ": " : "") + String(p.message || "");
  }
  return text;
}

// Screenshots in time order; a periodic one the recorder found identical to the one before (`unchanged`,
// naming that earlier file) is folded into it as the time it stayed unchanged until.
function screenshotRuns(index) {
  const out = [];
  for (const s of index) {
    const t = isNum(s.t) ? s.t : 0, file = String(s.file), last = out[out.length - 1];
    if (s.unchanged && last && last.file === file) { last.until = t; continue; }
    out.push({ t, file, reason: String(s.reason || "") });
  }
  return out;
}

// --- words -------------------------------------------------------------------------------------
function humanSize(n) {
  if (!isNum(n)) return "-";
  let size = n;
  for (const unit of ["B", "KB", "MB", "GB"]) {
    if (size < 1024 || unit === "GB") return unit === "B" ? Math.trunc(size) + " B" : size.toFixed(1) + " " + unit;
    size /= 1024;
  }
  return size.toFixed(1) + " GB";
}
function humanDuration(ms) {
  if (!isNum(ms)) return "-";
  const total = Math.round(ms / 1000), h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const pad = (x) => String(x).padStart(2, "0");
  return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
}
function localTime(ms) {
  const d = new Date(ms);
  if (!isNum(ms) || isNaN(d.getTime())) return "?";
  const pad = (x) => String(x).padStart(2, "0");
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
}
function fmtNum(v) { return isNum(v) ? String(Math.round(v * 1e6) / 1e6) : "?"; }

// What the recording holds besides its video (session.json "tracks"; absent in older bundles: every track).
// On Wayland without the input devices there is no click or key track at all, and the page says why
// instead of showing an empty "typed text" as if nothing had been typed.
function trackFlags(info) {
  const t = info.tracks;
  if (!t || typeof t !== "object") return { pointer: true, clicks: true, keys: true };
  return { pointer: t.pointer === "exact" || t.pointer === "estimated", clicks: Boolean(t.clicks), keys: Boolean(t.keys) };
}
function tracksFact(t) {
  const held = ["screen" + (t.cursor === "embedded" ? " with the pointer drawn in" : "")];
  if (t.pointer === "exact" || t.pointer === "estimated") held.push(t.pointer === "exact" ? "pointer" : "pointer (estimated)");
  if (t.clicks) held.push("clicks");
  if (t.keys) held.push("keys");
  const missing = ["clicks", "keys"].filter((name) => !t[name]);
  return held.join(", ") + (missing.length ? "; no " + missing.join(" or ") + (t.why ? ": " + String(t.why) : "") : "");
}
const CAPTURE_WORDS = { "wayland-portal": "Wayland screen cast (the desktop's portal, PipeWire)", mss: "screen grabs" };

const UPLOAD_WORDS = { not_uploaded: "not uploaded", pending: "waiting to upload", uploading: "uploading",
  done: "uploaded", failed: "failed", live: "uploading while recording" };

// The facts panel. `host`: what the page knows besides the zip: {zipSize, upload: {status, uploadedAt,
// error}} from `traycap view`, or {zipSize, expiresAt} for a shared link.
function facts(info, host) {
  const lines = [];
  if (posInt(info.createdAt)) lines.push(["Recorded", localTime(info.createdAt)]);
  if (isNum(info.durationMs)) {
    const paused = isNum(info.pausedMs) ? info.pausedMs : 0;
    lines.push(["Length", humanDuration(info.durationMs) + (paused >= 1000 ? " (" + humanDuration(paused) + " paused)" : "")]);
  }
  const fps = info.fps || {};
  if (isNum(fps.requested) || isNum(fps.achieved)) {
    lines.push(["Frame rate", fmtNum(fps.achieved) + " fps achieved of " + fmtNum(fps.requested) + " asked"]);
  }
  const dropped = info.droppedFrames;
  if (dropped && typeof dropped === "object") {
    const total = dropped.total == null ? "?" : dropped.total;
    lines.push(["Dropped frames", total + " (" + (dropped.late || 0) + " late, " + (dropped.encoderBusy || 0) + " encoder busy)"]);
  }
  if (isNum(info.unchangedFrames) && info.unchangedFrames > 0) {
    lines.push(["Still screen", info.unchangedFrames.toLocaleString("en-US") + " frame slots unchanged (the frame before shows)"]);
  }
  const counts = info.counts;
  if (counts && Object.keys(counts).length) {
    lines.push(["Actions", (counts.actions || 0).toLocaleString("en-US") + " (" + (counts.screenshots || 0) + " screenshots, "
      + (counts.frames || 0).toLocaleString("en-US") + " frames)"]);
  }
  const video = info.video || {};
  if (video.width && video.height) lines.push(["Video", (video.width + " x " + video.height + " " + (video.codec || "")).trim()]);
  const tracks = info.tracks && typeof info.tracks === "object" ? info.tracks : null;
  if (tracks) lines.push(["Tracks", tracksFact(tracks)]);
  const capture = info.capture && typeof info.capture === "object" ? info.capture : null;
  if (capture && capture.backend in CAPTURE_WORDS) lines.push(["Capture", CAPTURE_WORDS[capture.backend]]);
  const privacy = info.keystrokePrivacy;
  if (privacy && (!tracks || tracks.keys)) {
    lines.push(["Keystrokes", { full: "recorded as typed", no_text: "letters and digits masked", none: "not recorded" }[privacy]
      || String(privacy)]);
  }
  if (isNum(host.zipSize)) lines.push(["Size", humanSize(host.zipSize)]);
  if (host.upload) {
    const u = host.upload;
    let text = UPLOAD_WORDS[u.status] || u.status;
    if (u.status === "done" && u.uploadedAt) text += " " + localTime(u.uploadedAt);
    if (u.status === "failed" && u.error) text += ": " + u.error;
    lines.push(["Upload", text]);
  }
  if (isNum(host.expiresAt)) lines.push(["Link expires", localTime(host.expiresAt)]);
  const sound = soundFact(info.audio);
  if (sound) lines.push(["Sound", sound]);
  if (info.endReason && info.endReason !== "stopped") lines.push(["Ended", String(info.endReason)]);
  if (info.recovered) lines.push(["Recovered", "after a crash"]);
  return lines;
}

// Everything the page shows, in one object.
function pageData(bundle, host) {
  const info = bundle.info, mapping = videoMapping(info);
  const actionTimes = bundle.actions.map((a) => a.t).filter(isNum);
  const frameTimes = bundle.frames.map((f) => f.t).filter(isNum);
  const end = isNum(info.durationMs) ? info.durationMs
    : Math.max(0, actionTimes.length ? actionTimes[actionTimes.length - 1] : 0, frameTimes.length ? frameTimes[frameTimes.length - 1] : 0);
  const sessionId = String(info.sessionId || host.sessionId || "");
  return {
    sessionId,
    title: "Session " + sessionId,
    start: 0,
    end,
    privacy: info.keystrokePrivacy || "full",
    video: { present: bundle.video.length > 0, width: mapping.width, height: mapping.height,
      fps: isNum((info.fps || {}).achieved) ? info.fps.achieved : 10 },
    frames: frameColumns(bundle.frames),
    levels: levelColumns(bundle.levels),
    sound: !!(info.audio && (info.audio.devices || []).length),
    actions: actionColumns(bundle.actions, mapping),
    captions: captions(bundle.actions),
    tracks: trackFlags(info),
    shots: screenshotRuns(bundle.shots),
    facts: facts(info, host),
  };
}
