// A session bundle of either format, read from a RemoteZip: the same model for format 1 and 2, as
// traycap/bundle/reader.py gives it in Python. Member names come from traycap/bundle/layout.py
// (LAYOUT, written into the page when it is built), so they are defined in one place.

function childrenOf(names, prefix, suffix) {
  const found = names.filter((n) => n.startsWith(prefix) && n.length > prefix.length
    && !n.slice(prefix.length).includes("/") && n.endsWith(suffix || ""));
  const num = (n) => { const s = n.slice(n.lastIndexOf("/") + 1).split(".")[0]; return /^\d+$/.test(s) ? Number(s) : Infinity; };
  return found.sort((a, b) => num(a) - num(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function detectFormat(names, info) {
  const v = info && info.formatVersion;
  if (v === LAYOUT.FORMAT_LIVE) return LAYOUT.FORMAT_LIVE;
  if (Number.isInteger(v)) return LAYOUT.FORMAT_CLASSIC;
  const set = new Set(names);
  if ([LAYOUT.VIDEO_MP4, LAYOUT.ACTIONS_JSON, LAYOUT.FRAMES_JSON, LAYOUT.SHOTS_INDEX_JSON].some((n) => set.has(n))) {
    return LAYOUT.FORMAT_CLASSIC;
  }
  const live = [LAYOUT.VIDEO_SEGMENTS, LAYOUT.ACTIONS_CHUNKS, LAYOUT.FRAMES_CHUNKS, LAYOUT.SHOTS_INDEX_CHUNKS];
  return live.some((p) => childrenOf(names, p).length) ? LAYOUT.FORMAT_LIVE : LAYOUT.FORMAT_CLASSIC;
}

function parseJsonLines(bytes) {
  const out = [];
  for (const line of utf8.decode(bytes).split("\n")) {
    if (!line.trim()) continue;
    try { const r = JSON.parse(line); if (r && typeof r === "object" && !Array.isArray(r)) out.push(r); } catch (e) { /* a torn line */ }
  }
  return out;
}

function parseJsonArray(bytes) {
  const v = JSON.parse(utf8.decode(bytes));
  if (!Array.isArray(v)) throw new Error("not a JSON list");
  return v.filter((x) => x && typeof x === "object" && !Array.isArray(x));
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

const RECORD_KINDS = () => [
  [LAYOUT.ACTIONS_JSON, LAYOUT.ACTIONS_CHUNKS],
  [LAYOUT.FRAMES_JSON, LAYOUT.FRAMES_CHUNKS],
  [LAYOUT.SHOTS_INDEX_JSON, LAYOUT.SHOTS_INDEX_CHUNKS],
  [LAYOUT.LEVELS_JSON, LAYOUT.LEVELS_CHUNKS],  // the sound's loudness; none without sound
];

// The members that hold each JSON array (actions, frames, screenshot index, levels) in a bundle of `format`.
function recordMembers(zip, format) {
  return RECORD_KINDS().map(([single, prefix]) => (format === LAYOUT.FORMAT_LIVE
    ? childrenOf(zip.names(), prefix, ".jsonl") : (zip.has(single) ? [single] : [])));
}

// {format, info, actions, frames, shots, levels, shotMembers, video (member names in play order)}.
// session.json and the arrays are read in one go (with the format the member names suggest); only
// a session.json that says otherwise costs a second read.
async function readBundle(zip) {
  const names = zip.names();
  const guess = detectFormat(names, {});
  let members = recordMembers(zip, guess);
  let bytes = await zip.readMany([...(zip.has(LAYOUT.SESSION_JSON) ? [LAYOUT.SESSION_JSON] : []), ...members.flat()]);
  let info = {};
  if (bytes.has(LAYOUT.SESSION_JSON)) {
    const v = JSON.parse(utf8.decode(bytes.get(LAYOUT.SESSION_JSON)));
    if (v && typeof v === "object" && !Array.isArray(v)) info = v;
  }
  const format = detectFormat(names, info);
  if (format !== guess) {
    members = recordMembers(zip, format);
    bytes = await zip.readMany(members.flat());
  }
  const [actions, frames, index, levels] = members.map((list) => (format === LAYOUT.FORMAT_LIVE
    ? parseJsonLines(concat(list.map((n) => bytes.get(n)))) : list.length ? parseJsonArray(bytes.get(list[0])) : []));
  const shotMembers = new Map();
  for (const n of childrenOf(names, LAYOUT.SHOTS_PREFIX)) {
    if (n !== LAYOUT.SHOTS_INDEX_JSON) shotMembers.set(n.slice(LAYOUT.SHOTS_PREFIX.length), n);
  }
  const shots = index.filter((s) => s.file && shotMembers.has(String(s.file)));
  return { format, info, actions, frames, shots, levels, shotMembers, video: bundleVideo(zip) };
}

// The video's members as the member names say (read before session.json arrives, to start at once).
function bundleVideo(zip) {
  return detectFormat(zip.names(), {}) === LAYOUT.FORMAT_LIVE ? childrenOf(zip.names(), LAYOUT.VIDEO_SEGMENTS)
    : (zip.has(LAYOUT.VIDEO_MP4) ? [LAYOUT.VIDEO_MP4] : []);
}
