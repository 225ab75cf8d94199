// traycap replay page: the UI over the session read from its zip by byte ranges (zipread.js,
// bundle.js, model.js, video.js). Two hosts run the same page: `traycap view` on 127.0.0.1
// (its body marked with data-host=local; the zip at bundle.zip, facts about the upload at host.json, a heartbeat)
// and the share link's player in the user's bucket (the zip's presigned URL after the #). Either way
// every byte comes from the page's own origin; nothing is loaded from anywhere else. Times: `t` = ms
// since the recording started (timeline, actions, screenshots); video time = seconds, mapped through
// the frame list.
(function () {
  const $ = (id) => document.getElementById(id);
  const KIND_NAME = ["move", "press", "release", "scroll", "key", "key up", "pause", "resume", "other"];
  // Timeline lanes, top to bottom; each action is a mark in exactly one lane.
  let LANES = [
    { name: "Session", color: "#c792ea", kinds: [KIND.PAUSE, KIND.RESUME, KIND.OTHER] },
    { name: "Clicks", color: "#ff2d95", kinds: [KIND.DOWN, KIND.UP] },
    { name: "Keys", color: "#ffb547", kinds: [KIND.KEY_DOWN, KIND.KEY_UP] },
    { name: "Scroll", color: "#42d392", kinds: [KIND.SCROLL] },
    { name: "Pointer", color: "#7f8aa0", kinds: [KIND.MOVE] },
  ];
  // A recording with sound gets a last, thin lane: its loudness (the levels in the bundle).
  const SOUND_LANE = { name: "Sound", color: "#5ab0ff", kinds: [], levels: true };
  const LEVEL_FLOOR_DB = -60;
  const LANE_OF = new Uint8Array(9);
  LANES.forEach((lane, i) => lane.kinds.forEach((k) => { LANE_OF[k] = i; }));
  const CLICK_COLORS = { left: "#ff2d95", right: "#ffb020", middle: "#2de2ff" };
  const CLICK_SHOW_MS = 700, SCROLL_SHOW_MS = 500, ROW_H = 24, LABEL_W = 70, HEARTBEAT_MS = 10000;
  const PLAY_ICON = "M4 2l10 6-10 6z", PAUSE_ICON = "M3 2h4v12H3zM9 2h4v12H9z";
  const NOTABLE = new Uint8Array(9);
  [KIND.DOWN, KIND.SCROLL, KIND.KEY_DOWN, KIND.PAUSE, KIND.RESUME, KIND.OTHER].forEach((k) => { NOTABLE[k] = 1; });

  const video = $("video"), overlay = $("overlay"), marks = $("marks"), stage = $("stage");
  let D = null, T, K, X, Y, DET, MASK, FT, FV, PTR, CLK, CAP_START, NOTABLE_IDX;
  let cur = 0, playing = false, active = false, stopped = false, listRows = null, markCount = 0;
  let zip = null, bundle = null, feed = null, shotUrls = new Map();
  const LOCAL = document.body.dataset.host === "local";
  let view = { w: 0, h: 0, scale: 1 };
  const ready = { data: false, marks: false, frame: false };
  const timing = { data: 0, marks: 0, frame: 0, updates: 0, updateMs: 0, updateMaxMs: 0 };

  // --- helpers -------------------------------------------------------------------------
  function fmt(ms, tenths) {
    const neg = ms < 0; ms = Math.abs(ms);
    const total = tenths ? Math.floor(ms / 100) / 10 : Math.floor(ms / 1000);
    const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    const ss = tenths ? s.toFixed(1).padStart(4, "0") : String(Math.floor(s)).padStart(2, "0");
    return (neg ? "-" : "") + (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + ss;
  }
  function post(path, body) {
    return fetch(path, { method: "POST", body: JSON.stringify(body || {}), headers: { "Content-Type": "application/json" } });
  }

  // --- time mapping -------------------------------------------------------------------
  function tToV(t) {  // the frame on screen at recording time t: the last one captured at or before t
    const i = lastLE(FT, t);
    return i < 0 ? 0 : FV[i] + 0.001;
  }
  function vToT(v) {
    const j = lastLE(FV, v);
    if (j < 0) return FT.length ? FT[0] : 0;
    const t = FT[j] + (v - FV[j]) * 1000;
    return j + 1 < FT.length ? Math.min(t, FT[j + 1]) : t;
  }

  // --- data -----------------------------------------------------------------------------
  function load(data) {
    D = data;
    const a = data.actions, n = a.t.length;
    T = Float64Array.from(a.t); K = Uint8Array.from(a.kind); DET = a.detail; MASK = a.masked;
    X = new Float32Array(n); Y = new Float32Array(n);
    for (let i = 0; i < n; i++) { X[i] = a.x[i] === null ? NaN : a.x[i]; Y[i] = a.y[i] === null ? NaN : a.y[i]; }
    FT = Float64Array.from(data.frames.t); FV = Float64Array.from(data.frames.v);
    const ptr = [], clk = [], notable = [];
    for (let i = 0; i < n; i++) {
      if (!isNaN(X[i])) ptr.push(i);
      if (K[i] === KIND.DOWN) clk.push(i);
      if (NOTABLE[K[i]]) notable.push(i);
    }
    PTR = { idx: Uint32Array.from(ptr), times: Float64Array.from(ptr, (i) => T[i]) };
    CLK = { idx: Uint32Array.from(clk), times: Float64Array.from(clk, (i) => T[i]) };
    NOTABLE_IDX = { idx: Uint32Array.from(notable), times: Float64Array.from(notable, (i) => T[i]) };
    CAP_START = Float64Array.from(data.captions, (c) => c.start);
    if (data.levels.t.length && !LANES.includes(SOUND_LANE)) LANES = LANES.concat([SOUND_LANE]);
    video.muted = !data.sound;  // the element starts muted; a session with sound plays it (after a click: Play)
    document.body.dataset.sound = data.sound ? "1" : "0";
    document.title = "traycap · " + data.sessionId;
    $("title").textContent = data.title;
    const tracks = data.tracks;  // no switch for a track the recording does not hold (Wayland: no clicks or keys)
    $("showCaption").closest("label").hidden = !tracks.keys;
    $("showPointer").closest("label").hidden = !(tracks.pointer || tracks.clicks);
    $("actionCount").textContent = n || tracks.clicks || tracks.keys ? n.toLocaleString() : "not recorded (see Tracks)";
    document.body.dataset.actions = String(n);
    renderFacts();
    renderStrip();
    buildList();
    if (!data.video.present) {
      $("novideo").textContent = "This session has no video.";
      $("novideo").hidden = false;
      ready.frame = true;
    } else if (feed && FV.length) feed.setDuration(FV[FV.length - 1] + 1 / Math.max(1, data.video.fps));
    layout();
    ready.data = true;
    timing.data = performance.now();
    drawMarks();
    timing.marks = performance.now();
    seekT(0, { list: false });
    checkReady();
  }

  function renderFacts() {
    const dl = $("facts");
    dl.textContent = "";
    for (const [label, value] of D.facts) {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = label; dd.textContent = value;
      dl.append(dt, dd);
    }
    if (LOCAL) {
      $("copyLink").hidden = !HOST.upload.link;
      if (!HOST.upload.link && HOST.upload.status === "done") $("linkStatus").textContent = "Upload settings are needed for a link";
    }
  }

  function renderStrip() {
    const strip = $("strip");
    $("shotCount").textContent = D.shots.length ? String(D.shots.length) : "none";
    const frag = document.createDocumentFragment();
    D.shots.forEach((s, i) => {
      const b = document.createElement("button");
      b.className = "shot"; b.dataset.i = String(i); b.title = "Jump to " + fmt(s.t, true);
      const img = document.createElement("img");
      img.decoding = "async"; img.alt = s.reason + " screenshot at " + fmt(s.t, true);
      img.dataset.file = s.file;  // read from the zip when it scrolls into view, once the page is ready
      const cap = document.createElement("span");
      cap.textContent = fmt(s.t, true) + " · " + s.reason + (s.until !== undefined ? " · unchanged to " + fmt(s.until, true) : "");
      b.append(img, cap);
      frag.append(b);
    });
    strip.append(frag);
    strip.addEventListener("click", (e) => {
      const b = e.target.closest(".shot");
      if (b) { active = true; seekT(D.shots[Number(b.dataset.i)].t); }
    });
  }

  // --- layout ---------------------------------------------------------------------------
  function layout() {
    const vw = D.video.width || 16, vh = D.video.height || 9;
    const avail = stage.parentElement.clientWidth;
    const maxH = Math.max(240, window.innerHeight * 0.58);
    let w = avail, h = (avail * vh) / vw;
    if (h > maxH) { h = maxH; w = (h * vw) / vh; }
    w = Math.floor(w); h = Math.floor(h);
    stage.style.width = w + "px"; stage.style.height = h + "px";
    const dpr = window.devicePixelRatio || 1;
    overlay.width = Math.round(w * dpr); overlay.height = Math.round(h * dpr);
    overlay.style.width = w + "px"; overlay.style.height = h + "px";
    view = { w, h, scale: w / vw, dpr };
    listH = $("list").clientHeight;
    const tl = $("timeline");
    marks.width = Math.round(tl.clientWidth * dpr); marks.height = Math.round(tl.clientHeight * dpr);
  }

  // --- timeline (marks bucketed per pixel column: cost is O(actions + width)) ---------
  function span() { return Math.max(1, D.end - D.start); }
  function trackW() { return marks.width / view.dpr - LABEL_W - 10; }
  function tToX(t) { return LABEL_W + ((t - D.start) / span()) * trackW(); }
  function xToT(x) { return D.start + ((x - LABEL_W) / trackW()) * span(); }

  function drawMarks() {
    const dpr = view.dpr, g = marks.getContext("2d");
    const W = marks.width / dpr, H = marks.height / dpr, tw = Math.max(1, Math.floor(trackW()));
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const laneH = (H - 8) / LANES.length;
    const counts = LANES.map(() => new Uint32Array(tw));
    const n = T.length, s = span();
    let total = 0;
    for (let i = 0; i < n; i++) {
      let col = Math.floor(((T[i] - D.start) / s) * tw);
      col = col < 0 ? 0 : col >= tw ? tw - 1 : col;
      counts[LANE_OF[K[i]]][col]++;
      total++;
    }
    // Paused spans, shaded across all lanes.
    g.fillStyle = "rgba(199,146,234,0.10)";
    let pausedAt = null;
    for (let i = 0; i < n; i++) {
      if (K[i] === KIND.PAUSE && pausedAt === null) pausedAt = T[i];
      else if (K[i] === KIND.RESUME && pausedAt !== null) { g.fillRect(tToX(pausedAt), 4, tToX(T[i]) - tToX(pausedAt), H - 8); pausedAt = null; }
    }
    if (pausedAt !== null) g.fillRect(tToX(pausedAt), 4, tToX(D.end) - tToX(pausedAt), H - 8);
    g.font = "12px system-ui, sans-serif"; g.textBaseline = "middle";
    LANES.forEach((lane, li) => {
      const y = 4 + li * laneH;
      g.fillStyle = li % 2 ? "rgba(255,255,255,0.025)" : "rgba(255,255,255,0.05)";
      g.fillRect(LABEL_W, y, tw, laneH);
      g.fillStyle = "#8d97a8"; g.fillText(lane.name, 8, y + laneH / 2);
      const c = counts[li];
      g.fillStyle = lane.color;
      for (let x = 0; x < tw; x++) {
        if (!c[x]) continue;
        g.globalAlpha = Math.min(1, 0.45 + Math.log2(c[x]) * 0.18);
        g.fillRect(LABEL_W + x, y + 3, 1.6, laneH - 6);
      }
      g.globalAlpha = 1;
      if (lane.levels) drawLevels(g, y, laneH, tw);
    });
    // The recording's start and stop.
    g.fillStyle = LANES[0].color;
    for (const t of [D.start, D.end]) {
      const x = Math.min(tToX(t), LABEL_W + tw - 2);
      g.fillRect(x, 4, 2, laneH - 2);
    }
    g.fillText("start", LABEL_W + 5, 4 + laneH / 2);
    g.textAlign = "right"; g.fillText("stop", LABEL_W + tw - 5, 4 + laneH / 2); g.textAlign = "left";
    markCount = total;
    document.body.dataset.marks = String(total);
    ready.marks = true;
  }

  // Loudness per pixel column (its loudest 100 ms), as a bar from the lane's bottom.
  function drawLevels(g, y, laneH, tw) {
    const top = new Float32Array(tw).fill(-Infinity), L = D.levels, s = span();
    for (let i = 0; i < L.t.length; i++) {
      const col = Math.floor(((L.t[i] - D.start) / s) * tw);
      if (col >= 0 && col < tw && L.db[i] > top[col]) top[col] = L.db[i];
    }
    g.fillStyle = SOUND_LANE.color;
    let drawn = 0;
    for (let x = 0; x < tw; x++) {
      if (!(top[x] > LEVEL_FLOOR_DB)) continue;
      const h = Math.max(1, ((Math.min(0, top[x]) - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB) * (laneH - 4));
      g.fillRect(LABEL_W + x, y + laneH - 2 - h, 1, h);
      drawn++;
    }
    document.body.dataset.levelColumns = String(drawn);
  }

  function nearestInLane(t, lane, tolMs) {
    const i0 = lastLE(T, t);
    let best = -1, bestD = Infinity;
    for (let d = 0; d < 4000; d++) {  // walk out both ways, stop once beyond the tolerance
      const a = i0 - d, b = i0 + 1 + d;
      let any = false;
      if (a >= 0 && t - T[a] <= tolMs) { any = true; if (LANE_OF[K[a]] === lane && t - T[a] < bestD) { best = a; bestD = t - T[a]; } }
      if (b < T.length && T[b] - t <= tolMs) { any = true; if (LANE_OF[K[b]] === lane && T[b] - t < bestD) { best = b; bestD = T[b] - t; } }
      if (!any) break;
    }
    return best;
  }
  function timelineHit(e) {
    const r = marks.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const laneH = (r.height - 8) / LANES.length;
    const lane = Math.max(0, Math.min(LANES.length - 1, Math.floor((y - 4) / laneH)));
    const t = Math.max(D.start, Math.min(D.end, xToT(x)));
    const tol = (4 / trackW()) * span();
    return { t, x, i: nearestInLane(t, lane, tol) };
  }

  // --- overlay: pointer, clicks, scrolls, caption -------------------------------------
  function drawOverlay() {
    const g = overlay.getContext("2d"), dpr = view.dpr, sc = view.scale;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, view.w, view.h);
    if (!$("showPointer").checked || !T.length) return;
    const p = lastLE(PTR.times, cur);
    if (p >= 0) {
      const i = PTR.idx[p];
      drawPointer(g, X[i] * sc, Y[i] * sc);
    }
    for (let c = lastLE(CLK.times, cur); c >= 0 && cur - CLK.times[c] <= CLICK_SHOW_MS; c--) {
      const i = CLK.idx[c], age = (cur - T[i]) / CLICK_SHOW_MS;
      drawClick(g, X[i] * sc, Y[i] * sc, CLICK_COLORS[DET[i]] || "#ff2d95", age);
    }
    for (let s = p; s >= 0 && cur - PTR.times[s] <= SCROLL_SHOW_MS; s--) {
      const i = PTR.idx[s];
      if (K[i] === KIND.SCROLL) drawScroll(g, X[i] * sc, Y[i] * sc, DET[i]);
    }
  }
  function drawPointer(g, x, y) {
    if (isNaN(x)) return;
    g.save(); g.translate(x, y);
    g.beginPath(); g.moveTo(0, 0); g.lineTo(0, 17); g.lineTo(4.5, 13); g.lineTo(8, 20); g.lineTo(10.5, 19); g.lineTo(7.2, 12); g.lineTo(12.5, 12); g.closePath();
    g.fillStyle = "rgba(255,255,255,0.95)"; g.strokeStyle = "#000"; g.lineWidth = 1.4; g.fill(); g.stroke();
    g.restore();
  }
  function drawClick(g, x, y, color, age) {
    if (isNaN(x)) return;
    g.save();
    g.globalAlpha = 1 - age * 0.6;
    g.strokeStyle = color; g.lineWidth = 3;
    g.beginPath(); g.arc(x, y, 10 + age * 16, 0, Math.PI * 2); g.stroke();
    g.globalAlpha = 1;
    g.fillStyle = color;
    g.beginPath(); g.arc(x, y, 5, 0, Math.PI * 2); g.fill();
    g.restore();
  }
  function drawScroll(g, x, y, detail) {
    if (isNaN(x)) return;
    const up = detail.indexOf("up") === 0;
    g.save(); g.translate(x + 18, y); g.fillStyle = "#42d392";
    g.beginPath();
    if (up) { g.moveTo(0, -14); g.lineTo(7, -4); g.lineTo(-7, -4); } else { g.moveTo(0, 14); g.lineTo(7, 4); g.lineTo(-7, 4); }
    g.closePath(); g.fill(); g.restore();
  }
  function drawCaption() {
    const el = $("caption");
    const c = lastLE(CAP_START, cur);
    const cap = c >= 0 ? D.captions[c] : null;
    if (!cap || cur > cap.end || !$("showCaption").checked) { el.hidden = true; return; }
    let text = cap.text;
    if (text.length > 60) text = "…" + text.slice(-59);
    if (el.textContent !== text) el.textContent = text;
    el.hidden = false;
  }

  // --- action list (virtualized: only the visible rows exist) -------------------------
  function buildList() {
    const all = $("showMoves").checked;
    const rows = [];
    for (let i = 0; i < T.length; i++) if (all || K[i] !== KIND.MOVE) rows.push(i);
    listRows = { idx: Uint32Array.from(rows), times: Float64Array.from(rows, (i) => T[i]) };
    $("listInner").style.height = rows.length * ROW_H + "px";
    renderList(true);
  }
  function rowText(i) {
    const k = K[i], d = DET[i];
    const at = isNaN(X[i]) ? "" : " at " + Math.round(X[i]) + ", " + Math.round(Y[i]);
    switch (k) {
      case KIND.DOWN: return d + " click" + at;
      case KIND.UP: return d + " release" + at;
      case KIND.SCROLL: return "scroll " + d + at;
      case KIND.KEY_DOWN: return "key " + (MASK[i] ? "* (masked)" : d);
      case KIND.KEY_UP: return "key up " + (MASK[i] ? "* (masked)" : d);
      case KIND.MOVE: return "pointer" + at;
      default: return KIND_NAME[k] || "action";
    }
  }
  function dotClass(k) {
    return k === KIND.DOWN || k === KIND.UP ? "k-click" : k === KIND.KEY_DOWN || k === KIND.KEY_UP ? "k-key"
      : k === KIND.SCROLL ? "k-scroll" : k === KIND.MOVE ? "k-move" : "k-marker";
  }
  // Rows are rebuilt only when the visible range changes; a new current action only moves a class.
  // Scroll position and height are cached so playback never forces a layout to read them.
  let shown = { first: -1, last: -1, cur: -1, rows: new Map() }, listTop = 0, listH = 0;
  function renderList(force) {
    const first = Math.max(0, Math.floor(listTop / ROW_H) - 4);
    const last = Math.min(listRows.idx.length, Math.ceil((listTop + listH) / ROW_H) + 4);
    const curRow = lastLE(listRows.times, cur);
    if (!force && first === shown.first && last === shown.last) {
      if (curRow !== shown.cur) {
        const old = shown.rows.get(shown.cur), now = shown.rows.get(curRow);
        if (old) old.classList.remove("current");
        if (now) now.classList.add("current");
        shown.cur = curRow;
      }
      return;
    }
    const frag = document.createDocumentFragment(), rows = new Map();
    for (let r = first; r < last; r++) {
      const i = listRows.idx[r];
      const row = document.createElement("div");
      row.className = "row" + (r === curRow ? " current" : "");
      row.style.top = r * ROW_H + "px";
      row.dataset.i = String(i);
      const t = document.createElement("span"); t.className = "t"; t.textContent = fmt(T[i], true);
      const dot = document.createElement("span"); dot.className = "dot " + dotClass(K[i]);
      const txt = document.createElement("span"); txt.textContent = rowText(i);
      row.append(t, dot, txt);
      frag.append(row);
      rows.set(r, row);
    }
    $("listInner").replaceChildren(frag);
    shown = { first, last, cur: curRow, rows };
  }
  function keepRowVisible() {
    const r = lastLE(listRows.times, cur);
    if (r < 0) return;
    const top = r * ROW_H;
    if (top < listTop || top + ROW_H > listTop + listH) {
      listTop = Math.max(0, top - listH / 2);
      $("list").scrollTop = listTop;
    }
  }

  // --- playback ------------------------------------------------------------------------
  function seekT(t, opts) {
    cur = Math.max(D.start, Math.min(D.end, t));
    if (D.video.present && FT.length) {
      const v = tToV(cur);
      if (Math.abs(video.currentTime - v) > 0.0005) video.currentTime = v;
    }
    update(!opts || opts.list !== false);
  }
  function update(scrollList) {
    $("clock").textContent = fmt(cur, true) + " / " + fmt(D.end);
    $("playhead").style.left = tToX(cur) + "px";
    drawOverlay();
    drawCaption();
    if (scrollList) keepRowVisible();
    renderList(false);
  }
  function tick() {
    if (!playing) return;
    const t0 = performance.now();
    cur = vToT(video.currentTime);
    update(true);
    const spent = performance.now() - t0;
    timing.updates++; timing.updateMs += spent; timing.updateMaxMs = Math.max(timing.updateMaxMs, spent);
    requestAnimationFrame(tick);
  }
  function play() {
    if (!D.video.present) return;
    if (cur >= D.end - 50) seekT(0);
    video.playbackRate = Number($("speed").value);
    video.play().then(() => { playing = true; $("playIcon").setAttribute("d", PAUSE_ICON); requestAnimationFrame(tick); }, () => {});
  }
  function pause() {
    video.pause(); playing = false; $("playIcon").setAttribute("d", PLAY_ICON);
  }
  function toggle() { active = true; playing ? pause() : play(); }
  function jump(dir) {
    active = true;
    const list = NOTABLE_IDX;
    let r = lastLE(list.times, cur + (dir > 0 ? 0.5 : -0.5));
    r = dir > 0 ? r + 1 : r;
    if (r < 0 || r >= list.idx.length) return;
    if (playing) pause();
    seekT(T[list.idx[r]]);
  }

  // --- share link and heartbeat ------------------------------------------------------
  async function copyLink() {
    active = true;
    const status = $("linkStatus");
    status.textContent = "Getting a link…";
    let res;
    try { res = await (await post("link")).json(); } catch (e) { status.textContent = "The viewer has stopped"; return; }
    if (!res.url) { status.textContent = res.error || "No link"; return; }
    const out = $("linkOut");
    out.value = res.url; out.hidden = false;
    try { await navigator.clipboard.writeText(res.url); status.textContent = "Link copied"; }
    catch (e) { out.select(); status.textContent = document.execCommand("copy") ? "Link copied" : "Copy the link below"; }
  }
  function heartbeat() {
    const was = active || playing; active = false;
    post("heartbeat", { active: was }).then((r) => { if (!r.ok) throw new Error(); }).catch(() => {
      if (!stopped) { stopped = true; $("stopped").hidden = false; }
    });
  }

  function checkReady() {
    if (ready.data && ready.marks && ready.frame && !document.body.dataset.ready) {
      // Screenshots only now, as they scroll into view: they would compete with the video's first frame.
      const seen = new IntersectionObserver((entries) => entries.forEach((e) => {
        if (e.isIntersecting) { seen.unobserve(e.target); loadShot(e.target); }
      }), { root: $("strip"), rootMargin: "0px 400px" });
      for (const img of document.querySelectorAll("#strip img[data-file]")) seen.observe(img);
      window.traycapReady = { ms: performance.now(), marks: markCount, dataMs: timing.data, marksMs: timing.marks,
        frameMs: timing.frame, parsedMs: timing.parsed, requests: netStats.requests, bytes: netStats.bytes };
      document.body.dataset.ready = "1";
    }
  }

  async function loadShot(img) {
    const name = bundle.shotMembers.get(img.dataset.file);
    if (!name || shotUrls.has(name)) return;
    try {
      const bytes = await zip.readOne(name);
      const url = URL.createObjectURL(new Blob([bytes], { type: "image/png" }));
      shotUrls.set(name, url);
      img.src = url;
    } catch (e) { img.alt = "screenshot not readable: " + e.message; }
  }

  // --- events -------------------------------------------------------------------------
  $("play").addEventListener("click", toggle);
  $("prev").addEventListener("click", () => jump(-1));
  $("next").addEventListener("click", () => jump(1));
  $("speed").addEventListener("change", () => { video.playbackRate = Number($("speed").value); });
  $("showPointer").addEventListener("change", drawOverlay);
  $("showCaption").addEventListener("change", drawCaption);
  $("showMoves").addEventListener("change", () => { buildList(); keepRowVisible(); renderList(true); });
  $("copyLink").addEventListener("click", copyLink);
  $("list").addEventListener("scroll", () => { listTop = $("list").scrollTop; renderList(false); }, { passive: true });
  $("list").addEventListener("click", (e) => {
    const row = e.target.closest(".row");
    if (row) { active = true; if (playing) pause(); seekT(T[Number(row.dataset.i)], { list: false }); }
  });
  $("timeline").addEventListener("click", (e) => {
    active = true;
    const hit = timelineHit(e);
    if (playing) pause();
    seekT(hit.i >= 0 ? T[hit.i] : hit.t);
  });
  $("timeline").addEventListener("mousemove", (e) => {
    const hit = timelineHit(e), hover = $("hover");
    hover.textContent = fmt(hit.t, true) + (hit.i >= 0 ? " · " + rowText(hit.i) : "");
    hover.style.left = hit.x + "px"; hover.hidden = false;
  });
  $("timeline").addEventListener("mouseleave", () => { $("hover").hidden = true; });
  video.addEventListener("loadeddata", () => { ready.frame = true; timing.frame = performance.now(); checkReady(); },
    { once: true });
  function cannotPlay(why) {
    if (D && !D.video.present) return;  // no video in this session: the page already says so
    $("novideo").textContent = "This browser cannot play the session's video (" + why + "). The actions, screenshots and facts are all here.";
    $("novideo").hidden = false; ready.frame = true; checkReady();
  }
  video.addEventListener("error", () => cannotPlay("H.264 MP4"));
  video.addEventListener("ended", pause);
  video.addEventListener("seeked", () => { if (!playing) drawOverlay(); });
  document.addEventListener("keydown", (e) => {
    if (!D || e.target.closest("input, select, textarea")) return;
    if (e.key === " " || e.code === "Space") { e.preventDefault(); toggle(); }
    else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      e.preventDefault();
      const dir = e.key === "ArrowRight" ? 1 : -1;
      if (e.shiftKey) { active = true; seekT(cur + dir * 5000); } else jump(dir);
    }
  });
  ["pointerdown", "keydown", "wheel"].forEach((ev) => document.addEventListener(ev, () => { active = true; }, { passive: true }));
  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (D) { layout(); drawMarks(); update(false); } }, 100);
  });
  if (LOCAL) {
    window.addEventListener("pagehide", () => { navigator.sendBeacon("bye", "{}"); });
    setInterval(heartbeat, HEARTBEAT_MS);
  }

  // Hooks for tests and the bench (read-only views plus seek).
  window.traycapViewer = {
    seek: (t) => { if (playing) pause(); seekT(t); return cur; },
    timing: () => Object.assign({}, timing),
    redrawMarks: () => { const t0 = performance.now(); drawMarks(); return performance.now() - t0; },
    state: () => ({ cur, playing, marks: markCount, actions: T ? T.length : 0, rows: listRows ? listRows.idx.length : 0,
      videoTime: video.currentTime, stage: stage.getBoundingClientRect().toJSON(), scale: view.scale,
      format: bundle ? bundle.format : null }),
    net: () => Object.assign({}, netStats),
    data: () => D,
    feed: () => feed && { duration: feed.duration, msDuration: feed.ms && feed.ms.duration, ended: feed.ended,
      fragments: feed.frags.length, indexed: feed.indexed, scanned: feed.scanEnd, size: feed.bytes.size },
    model: { captions, frameColumns, actionColumns, videoMapping, facts, humanSize, humanDuration },
  };

  // --- start: where the zip is, then its directory, then the data and the video at once --------
  let HOST = {};
  function stop(text) {  // nothing to play: say why, where the video would be, instead of a broken video
    document.body.classList.add("no-session");
    $("novideo").textContent = text; $("novideo").hidden = false;
    document.body.dataset.failed = "1";
  }
  function linkTarget() {  // the shared link: the zip's presigned URL after the "#"
    const p = new URLSearchParams(location.hash.slice(1));
    const z = p.get("z");
    if (!z) return { error: "This link is incomplete: the part after the # is missing. Ask the sender to copy the whole link." };
    let url;
    try { url = new URL(z, location.href); } catch (e) { return { error: "This link is damaged (the recording's address is not a URL)." }; }
    if (url.origin !== location.origin) return { error: "This link points to a recording somewhere else; the player only reads from its own storage." };
    return { url: url.href, expiresAt: presignedExpiry(url), name: decodeURIComponent(url.pathname.split("/").pop() || "session.zip") };
  }
  function expiredText(at) {
    return "This link expired" + (isNum(at) ? " on " + localTime(at) : "") + ". Ask the person who sent it for a new link.";
  }
  async function boot() {
    const t0 = performance.now();
    let zipUrl = "bundle.zip";
    if (LOCAL) {
      HOST = await (await fetch("host.json", { cache: "no-store" })).json();
      $("download").hidden = true;
    } else {
      const target = linkTarget();
      if (target.error) { stop(target.error); return; }
      zipUrl = target.url;
      HOST = { expiresAt: target.expiresAt, sessionId: target.name.replace(/\.zip$/, "") };
      $("title").textContent = "Session " + HOST.sessionId;
      if (isNum(target.expiresAt) && Date.now() >= target.expiresAt) { document.body.dataset.expired = "1"; stop(expiredText(target.expiresAt)); return; }
      if (isNum(target.expiresAt)) $("when").textContent = "shared link · plays until " + localTime(target.expiresAt);
      const dl = $("download");
      dl.href = zipUrl; dl.download = target.name; dl.hidden = false;
      $("footerNote").textContent = "played in your browser straight from the sender's storage";
    }
    zip = new RemoteZip(zipUrl);
    try {
      await zip.open();
    } catch (e) { failed(e); return; }
    HOST.zipSize = zip.size;
    const members = bundleVideo(zip);
    if (members.length) {
      feed = new VideoFeed(video, new VideoBytes(zip, members), { duration: 0, onProblem: (e) => { if (e && e.expired) failed(e); } });
      feed.start().catch((e) => { if (e && e.status) failed(e); else cannotPlay(e.message || String(e)); });
    }
    try {
      bundle = await readBundle(zip);
    } catch (e) { failed(e); return; }
    timing.fetched = performance.now() - t0;
    timing.parsed = performance.now();
    load(pageData(bundle, HOST));
  }
  function failed(e) {
    if (e && e.expired) { document.body.dataset.expired = "1"; stop(expiredText(HOST.expiresAt)); }
    else if (e && e.status === 404) stop("The recording is no longer in the sender's storage (HTTP 404).");
    else if (e && e.status === 403) stop("The sender's storage refused to give the recording (HTTP 403).");
    else if (e && e.status) stop("The sender's storage answered HTTP " + e.status + ".");
    else stop("Could not load the session: " + (e && e.message ? e.message : e));
  }
  // Another link to the same player differs only after the "#": a new session, so a new page.
  window.addEventListener("hashchange", () => location.reload());
  boot().catch(failed);
})();
