// The session's video fed to Media Source Extensions from byte ranges of the zip: the init segment
// once, then only the fragments (moof + mdat) needed now. Format 1 keeps the fragmented MP4 as one
// stored member, format 2 as stored segments whose bytes end to end are the same file: `VideoBytes`
// reads either as one run of bytes. The fragment index is the MP4's own mfra (the encoder writes it
// when it closes the file); a video without one (a recording cut off by a crash) is read from the
// start, in order, and indexed as it goes.

const HEAD_BYTES = 64 * 1024;
const LOOK_BACK = 6;  // fragments read before a seek target to find its keyframe (keyframes are 5 s apart)
const AHEAD_S = 12;  // kept buffered ahead of the playhead while playing
const AHEAD_PAUSED_S = 3;  // ... and while paused (a seek after it then waits for less)
const AHEAD_BYTES = 1536 * 1024;  // read at most this much ahead at a time
const KEEP_BEHIND_S = 30, KEEP_TOTAL_S = 150;  // older frames are dropped beyond this (browser memory)
const SCAN_BYTES = 2 * 1024 * 1024;
const LOOKED_BACK = "looked back";  // no keyframe in what was read: the next read starts further back

class VideoBytes {
  constructor(zip, names) {
    this.zip = zip;
    this.parts = [];
    let at = 0;
    for (const name of names) {
      const e = zip.entry(name);
      this.parts.push({ name, at, size: e.size, stored: e.method === 0 });
      at += e.size;
    }
    this.size = at;
    this.memory = null;  // the whole video, when a member is compressed (a zip from another tool)
  }

  async read(a, b, signal) {
    b = Math.min(b, this.size);
    if (this.parts.some((p) => !p.stored)) return this.fromMemory(a, b);
    const pieces = this.parts.filter((p) => p.at < b && p.at + p.size > a);
    const got = await Promise.all(pieces.map(async (p) => {
      const from = Math.max(a, p.at) - p.at, to = Math.min(b, p.at + p.size) - p.at;
      const first = p.dataKnown ? null : await this.zip.dataStart(p.name, from < 256 * 1024 ? to : 0);
      p.dataKnown = true;
      if (first && first.head.length >= to) return first.head.subarray(from, to);
      const start = this.zip.entry(p.name).dataStart;
      return (await this.zip.read(start + from, start + to, signal)).bytes;
    }));
    if (got.length === 1) return got[0];
    const out = new Uint8Array(got.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of got) { out.set(x, o); o += x.length; }
    return out;
  }

  async fromMemory(a, b) {
    if (!this.memory) {
      const all = await this.zip.readMany(this.parts.map((p) => p.name));
      this.memory = new Uint8Array(this.size);
      for (const p of this.parts) this.memory.set(all.get(p.name), p.at);
    }
    return this.memory.subarray(a, b);
  }
}

class VideoFeed {
  constructor(video, bytes, { duration, onProblem }) {
    this.video = video;
    this.bytes = bytes;
    this.duration = duration;
    this.onProblem = onProblem || (() => {});
    this.frags = [];  // {time (s), start, end (byte offsets in the video), key: true/false/null}
    this.times = new Float64Array(0);
    this.indexed = false;  // the whole file's fragments are known (mfra)
    this.scanEnd = 0;  // progressive: bytes of the video already walked
    this.queue = Promise.resolve();  // appends and removes, one at a time
    this.busy = null;
    this.want = 0;
    this.ahead = null;  // the AbortController of a read ahead of the playhead, while one runs
    this.ended = false;
  }

  async start() {
    const [head, tail] = await Promise.all([
      this.bytes.read(0, Math.min(this.bytes.size, HEAD_BYTES)),
      this.bytes.read(Math.max(0, this.bytes.size - 16), this.bytes.size),
    ]);
    let init = parseInit(head), headBytes = head;
    if (init.need) { headBytes = await this.bytes.read(0, Math.min(this.bytes.size, init.need)); init = parseInit(headBytes); }
    if (init.need) throw new Error("the video has no MP4 header");
    this.init = init;
    const mfra = mfraSize(tail);
    let entries = null;
    if (mfra > 0 && mfra < this.bytes.size) {
      entries = parseTfra(await this.bytes.read(this.bytes.size - mfra, this.bytes.size), 0, init.trackId);
    }
    if (entries && entries.length) {
      const stop = this.bytes.size - mfra;
      this.frags = entries.map((e, i) => ({ time: e.time / init.timescale, start: e.offset,
        end: i + 1 < entries.length ? entries[i + 1].offset : stop, key: null }));
      this.indexed = true;
    }
    this.scanEnd = init.initEnd;
    this.times = Float64Array.from(this.frags, (f) => f.time);
    const type = 'video/mp4; codecs="' + init.codec + '"';
    if (!window.MediaSource || !MediaSource.isTypeSupported(type)) throw new Error("unsupported: " + type);
    this.ms = new MediaSource();
    this.video.src = URL.createObjectURL(this.ms);
    await new Promise((resolve) => this.ms.addEventListener("sourceopen", resolve, { once: true }));
    this.sb = this.ms.addSourceBuffer(type);
    this.sb.mode = "segments";
    await this.append(headBytes.slice(0, init.initEnd));
    this.applyDuration();
    this.video.addEventListener("seeking", () => this.need(this.video.currentTime));
    this.video.addEventListener("timeupdate", () => this.need(this.video.currentTime));
    await this.need(0);
  }

  // The video's length, known once the frame list is in (a seek past the MediaSource's duration
  // would stop at it).
  setDuration(seconds) {
    this.duration = seconds;
    if (!this.sb) return;  // start() applies it
    this.queue = this.queue.then(() => this.applyDuration()).catch(() => {});
    this.need(this.video.currentTime);
  }

  // The recorder's MP4 says no duration (its moov is written empty before the first frame), so
  // the browser takes it as endless until told.
  applyDuration() {
    if (!(this.duration > 0) || this.ms.readyState !== "open" || this.sb.updating) return;
    const b = this.sb.buffered, end = b.length ? b.end(b.length - 1) : 0;
    const want = Math.max(this.duration, end);
    if (this.ms.duration !== want) this.ms.duration = want;
  }

  // --- the SourceBuffer, one operation at a time --------------------------------------------
  op(fn) {
    const run = this.queue.then(() => new Promise((resolve, reject) => {
      const done = () => { this.sb.removeEventListener("error", fail); resolve(); };
      const fail = () => { this.sb.removeEventListener("updateend", done); reject(new Error("SourceBuffer error")); };
      this.sb.addEventListener("updateend", done, { once: true });
      this.sb.addEventListener("error", fail, { once: true });
      try { fn(); } catch (e) { this.sb.removeEventListener("updateend", done); this.sb.removeEventListener("error", fail); reject(e); }
    }));
    this.queue = run.catch(() => {});
    return run;
  }
  async append(data) {
    if (this.ms.readyState === "ended") this.ended = false;  // appending opens it again (a seek back)
    try {
      await this.op(() => this.sb.appendBuffer(data));
    } catch (e) {
      if (e && e.name === "QuotaExceededError") { await this.evict(0); await this.op(() => this.sb.appendBuffer(data)); }
      else throw e;
    }
  }
  async evict(keepAhead) {
    const cur = this.video.currentTime, b = this.sb.buffered;
    if (!b.length) return;
    let total = 0;
    for (let i = 0; i < b.length; i++) total += b.end(i) - b.start(i);
    if (keepAhead && total < KEEP_TOTAL_S) return;
    const from = b.start(0), to = b.end(b.length - 1);
    if (cur - KEEP_BEHIND_S > from) await this.op(() => this.sb.remove(from, cur - KEEP_BEHIND_S));
    const aheadTo = cur + Math.max(AHEAD_S * 2, keepAhead || 0);
    if (to > aheadTo) await this.op(() => this.sb.remove(aheadTo, to));
    for (const f of this.frags) if (f.time < cur - KEEP_BEHIND_S || f.time > aheadTo) f.loaded = false;
  }

  bufferedAt(v) {
    const b = this.video.buffered;
    for (let i = 0; i < b.length; i++) if (b.start(i) <= v + 1e-3 && v < b.end(i) - 1e-3) return b.end(i);
    return -1;
  }

  // --- what to read next --------------------------------------------------------------------
  // Called on every seek and time update: make sure the frame at `v` and a little after it are in.
  need(v) {
    this.want = v;
    // A read ahead of the playhead gives way to a seek somewhere not buffered.
    if (this.ahead && this.bufferedAt(v) < 0) this.ahead.abort();
    if (this.busy) return this.busy;
    this.busy = this.fill().catch((e) => this.onProblem(e)).finally(() => { this.busy = null; });
    return this.busy;
  }

  aheadS() { return this.video.paused ? AHEAD_PAUSED_S : AHEAD_S; }

  async fill() {
    let tried = null;
    for (let guard = 0; guard < 200; guard++) {
      const v = this.want, end = this.bufferedAt(v);
      if (end >= 0 && (end >= v + this.aheadS() || end >= this.duration - 0.05 || (this.ended && this.atLast()))) return;
      if (!this.indexed && !this.known(end >= 0 ? end : v)) { await this.scan(); continue; }
      if (!this.frags.length) return;
      const at = end >= 0 ? "+" + this.fragAt(end - 1e-3) : String(this.fragAt(v));
      if (at === tried) { this.forget(); return; }  // read and appended, yet not playable: do not loop
      tried = at;
      let done;
      try {
        done = await this.load(end >= 0 ? end - 1e-3 : v, end >= 0);
      } catch (e) {
        if (e && e.name === "AbortError") { tried = null; continue; }  // a seek took its place
        throw e;
      }
      if (!done) return;
      if (done === LOOKED_BACK) tried = null;
    }
  }

  // The browser may drop buffered frames on its own: what is not buffered is not loaded.
  forget() {
    for (const f of this.frags) if (f.loaded && this.bufferedAt(f.time) < 0) f.loaded = false;
  }

  atLast() { const f = this.frags[this.frags.length - 1]; return !f || f.loaded; }
  known(v) { return this.frags.length && (this.scanEnd >= this.bytes.size || this.frags[this.frags.length - 1].time > v + AHEAD_S); }

  fragAt(v) { const i = lastLE(this.times, v + 1e-3); return i < 0 ? 0 : i; }

  // Read the fragments from `v` on: from its keyframe, or (`continuing` a run already in) from the
  // first fragment not in yet. True when appended, LOOKED_BACK, false when there is nothing to add.
  async load(v, continuing) {
    const f = this.fragAt(v), n = this.frags.length;
    let first = f;
    if (continuing) {
      while (first < n && this.frags[first].loaded) first++;
      if (first >= n) { await this.finish(); return false; }
      continuing = first > 0 && this.frags[first - 1].loaded;
    }
    let target = first;  // the fragment that must show
    if (!continuing) {
      let g = target;  // back over fragments known not to start with a keyframe
      while (g > 0 && this.frags[g].key === false) g--;
      first = this.frags[g].key === true ? g : Math.max(0, g - LOOK_BACK + 1);
    }
    // A seek reads up to its target only (fast); a run in progress reads ahead.
    let last = Math.max(first, target);
    if (continuing) {
      while (last + 1 < n && this.frags[last + 1].end - this.frags[first].start <= AHEAD_BYTES
             && this.frags[last + 1].time < v + this.aheadS()) last++;
    } else if (last + 1 < n) last++;
    const a = this.frags[first].start, b = this.frags[last].end;
    this.ahead = continuing ? new AbortController() : null;
    let data;
    try {
      data = await this.bytes.read(a, b, this.ahead && this.ahead.signal);
    } finally {
      this.ahead = null;
    }
    for (let i = first; i <= last; i++) {
      const info = parseMoof(data, this.frags[i].start - a, this.init.trexFlags, this.init.trackId);
      if (info) this.frags[i].key = info.key;
    }
    let from = first;
    if (!continuing) {  // start at the last keyframe at or before the target
      from = -1;
      for (let i = first; i <= target; i++) if (this.frags[i].key) from = i;
      if (from < 0) {
        if (first === 0) from = 0;  // no keyframe at all before it: let the decoder make what it can
        else { for (let i = first; i <= target; i++) this.frags[i].key = false; return LOOKED_BACK; }
      }
    }
    await this.evict(AHEAD_S);
    await this.append(data.subarray(this.frags[from].start - a, b - a));
    for (let i = from; i <= last; i++) this.frags[i].loaded = true;
    if (last === n - 1 && (this.indexed || this.scanEnd >= this.bytes.size)) await this.finish();
    return true;
  }

  async finish() {
    if (this.ended || this.ms.readyState !== "open") return;
    await this.queue;
    if (!this.sb.updating && this.ms.readyState === "open") { this.ms.endOfStream(); this.ended = true; }
  }

  // No mfra: walk the file in order, indexing every fragment (and keeping the bytes of the ones
  // near what is wanted, so nothing is read twice while playing from the start).
  async scan() {
    if (this.scanEnd >= this.bytes.size) { this.indexed = true; return; }
    const a = this.scanEnd, data = await this.bytes.read(a, Math.min(this.bytes.size, a + SCAN_BYTES));
    let p = 0, runFrom = -1, runTo = -1;
    while (p < data.length) {
      const info = parseMoof(data, p, this.init.trexFlags, this.init.trackId);
      if (!info) {
        const box = boxesIn(data, p, data.length)[0];
        if (box && box.type !== "moof" && p + box.size <= data.length) { p += box.size; continue; }  // mfra, free, ...
        break;  // a fragment cut off at the end of this read: the next read starts at it
      }
      if (info.end > data.length) break;
      const frag = { time: info.decodeTime / this.init.timescale, start: a + p, end: a + info.end, key: info.key };
      this.frags.push(frag);
      const near = frag.time >= this.want - 1 && frag.time <= this.want + AHEAD_S;
      if (near && (runFrom >= 0 || frag.key)) { if (runFrom < 0) runFrom = this.frags.length - 1; runTo = this.frags.length - 1; }
      p = info.end;
    }
    if (p === 0) { this.scanEnd = this.bytes.size; return; }  // nothing parsable: stop walking
    this.scanEnd = a + p;
    this.times = Float64Array.from(this.frags, (f) => f.time);
    if (runFrom >= 0 && !(runFrom > 0 && !this.frags[runFrom - 1].loaded && !this.frags[runFrom].key)) {
      const s = this.frags[runFrom].start - a, e = this.frags[runTo].end - a;
      await this.append(data.subarray(s, e));
      for (let i = runFrom; i <= runTo; i++) this.frags[i].loaded = true;
    }
    if (this.scanEnd >= this.bytes.size) {
      this.indexed = true;
      if (this.atLast()) await this.finish();
    }
  }
}
