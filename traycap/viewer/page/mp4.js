// The few things the page reads in the recorder's fragmented MP4 (ISO BMFF): where the init segment
// (ftyp + moov) ends and its codecs, the fragment index (mfra/tfra, written when the encoder closes
// the file), and per fragment (moof) its decode time and whether its first frame is a keyframe.
// A recording with sound has a second track (AAC) in the same fragments: the index and the
// keyframes are the video track's, found by its track ID.

function be32(b, o) { return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3]; }
function be64(b, o) { return be32(b, o) * 0x100000000 + be32(b, o + 4); }
function fourcc(b, o) { return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]); }

// The boxes between `start` and `end` of `b`: [{type, at, size, body}] (a box cut off by `end` is
// returned with its full size, so the caller knows how much more to read).
function boxesIn(b, start, end) {
  const out = [];
  let p = start;
  while (p + 8 <= end) {
    let size = be32(b, p), hdr = 8;
    if (size === 1) { if (p + 16 > end) break; size = be64(b, p + 8); hdr = 16; }
    else if (size === 0) size = end - p;
    if (size < hdr) break;
    out.push({ type: fourcc(b, p + 4), at: p, size, body: p + hdr });
    p += size;
  }
  return out;
}
function child(b, box, type) {
  return boxesIn(b, box.body, Math.min(b.length, box.at + box.size)).find((x) => x.type === type) || null;
}
function path(b, box, types) {
  let cur = box;
  for (const t of types) { cur = cur && child(b, cur, t); }
  return cur;
}

// An AAC sample entry's codec string from its esds: "mp4a.40.<audio object type>" (LC: 2).
function aacCodec(b, entry) {
  const esds = boxesIn(b, entry.body + 28, entry.at + entry.size).find((x) => x.type === "esds");
  if (!esds) return "mp4a.40.2";
  let p = esds.body + 4, end = esds.at + esds.size, oti = 0x40, aot = 2;
  while (p + 2 < end) {  // descriptors: tag, a size of 1-4 bytes (7 bits each), a body
    const tag = b[p++];
    let size = 0;
    for (let i = 0; i < 4; i++) { const v = b[p++]; size = (size << 7) | (v & 0x7f); if (!(v & 0x80)) break; }
    if (tag === 0x03) { p += 3; continue; }  // ES_Descriptor: its ES_ID and flags, then the rest inside
    if (tag === 0x04) { oti = b[p]; p += 13; continue; }  // DecoderConfig: object type, then more inside
    if (tag === 0x05) { aot = b[p] >> 3; break; }  // AudioSpecificConfig: its first 5 bits
    p += size;
  }
  return "mp4a." + oti.toString(16) + "." + aot;
}

// One trak's facts: {id, kind ("vide", "soun"), timescale, codec}.
function parseTrak(b, trak) {
  const tkhd = child(b, trak, "tkhd"), mdhd = path(b, trak, ["mdia", "mdhd"]), hdlr = path(b, trak, ["mdia", "hdlr"]);
  const id = tkhd ? be32(b, tkhd.body + (b[tkhd.body] === 1 ? 20 : 12)) : 1;
  const timescale = mdhd ? be32(b, mdhd.body + (b[mdhd.body] === 1 ? 20 : 12)) : 1000;
  const kind = hdlr ? fourcc(b, hdlr.body + 8) : "vide";
  const stsd = path(b, trak, ["mdia", "minf", "stbl", "stsd"]);
  const entry = stsd && boxesIn(b, stsd.body + 8, stsd.at + stsd.size)[0];
  let codec = kind === "soun" ? "mp4a.40.2" : "avc1.42E01E";
  if (entry && (entry.type === "avc1" || entry.type === "avc3")) {
    // avc1 sample entry: 78 bytes of fields, then its boxes (avcC).
    const avcC = boxesIn(b, entry.body + 78, entry.at + entry.size).find((x) => x.type === "avcC");
    if (avcC) {
      const hex = (v) => v.toString(16).padStart(2, "0");
      codec = entry.type + "." + hex(b[avcC.body + 1]) + hex(b[avcC.body + 2]) + hex(b[avcC.body + 3]);
    }
  } else if (entry && entry.type === "mp4a") codec = aacCodec(b, entry);
  else if (entry && entry.type === "Opus") codec = "opus";
  return { id, kind, timescale, codec };
}

// {initEnd, codec (every track's, "avc1.…,mp4a.40.2" with sound), sound, timescale, trackId, trexFlags}
// of the video track, from the first bytes of the video; null when more bytes are needed (`need`).
function parseInit(b) {
  const top = boxesIn(b, 0, b.length);
  const moov = top.find((x) => x.type === "moov");
  if (!moov) {
    const last = top[top.length - 1];
    return { need: last ? last.at + last.size + 4096 : b.length * 2 };
  }
  if (moov.at + moov.size > b.length) return { need: moov.at + moov.size };
  const traks = boxesIn(b, moov.body, moov.at + moov.size).filter((x) => x.type === "trak").map((t) => parseTrak(b, t));
  const vid = traks.find((t) => t.kind === "vide") || traks[0] || { id: 1, timescale: 1000, codec: "avc1.42E01E" };
  const sound = traks.find((t) => t.kind === "soun") || null;
  const mvex = child(b, moov, "mvex");
  const trex = mvex && boxesIn(b, mvex.body, mvex.at + mvex.size).find((x) => x.type === "trex" && be32(b, x.body + 4) === vid.id);
  return { initEnd: moov.at + moov.size, codec: sound ? vid.codec + "," + sound.codec : vid.codec, sound: !!sound,
    timescale: vid.timescale, trackId: vid.id, trexFlags: trex ? be32(b, trex.body + 20) : 0 };
}

// The fragment index from the video's last bytes: [{time (timescale units), offset}] or null.
// `tail` holds the video's last bytes; `tailStart` is where they start in the video.
function mfraSize(tail) {
  const n = tail.length;
  if (n < 16 || fourcc(tail, n - 12) !== "mfro") return 0;
  return be32(tail, n - 4);
}
function parseTfra(b, at, trackId) {
  const mfra = boxesIn(b, at, b.length)[0];
  if (!mfra || mfra.type !== "mfra") return null;
  const tfras = boxesIn(b, mfra.body, Math.min(b.length, mfra.at + mfra.size)).filter((x) => x.type === "tfra");
  const tfra = tfras.find((x) => be32(b, x.body + 4) === (trackId || 1)) || tfras[0];
  if (!tfra) return null;
  const version = b[tfra.body], p0 = tfra.body + 4;
  const lens = be32(b, p0 + 4), count = be32(b, p0 + 8);
  const skip = ((lens >> 4) & 3) + 1 + ((lens >> 2) & 3) + 1 + (lens & 3) + 1;
  const out = [];
  let p = p0 + 12;
  for (let i = 0; i < count; i++) {
    const time = version === 1 ? be64(b, p) : be32(b, p);
    const offset = version === 1 ? be64(b, p + 8) : be32(b, p + 4);
    p += (version === 1 ? 16 : 8) + skip;
    out.push({ time, offset });
  }
  return out;
}

// A fragment's facts from bytes that start at its moof: {decodeTime, key, end (moof + mdat)} or null;
// those of the video track's traf (`trackId`; the first traf when none has it).
function parseMoof(b, at, trexFlags, trackId) {
  const moof = boxesIn(b, at, b.length)[0];
  if (!moof || moof.type !== "moof" || moof.at + moof.size > b.length) return null;
  const trafs = boxesIn(b, moof.body, moof.at + moof.size).filter((x) => x.type === "traf");
  const ofTrack = (x) => { const h = child(b, x, "tfhd"); return h && be32(b, h.body + 4) === (trackId || 1); };
  const traf = trafs.find(ofTrack) || trafs[0] || null;
  const tfhd = traf && child(b, traf, "tfhd"), tfdt = traf && child(b, traf, "tfdt"), trun = traf && child(b, traf, "trun");
  let flags = trexFlags;
  if (tfhd) {
    const tf = be32(b, tfhd.body) & 0xffffff;
    let q = tfhd.body + 8;  // version/flags, track id
    if (tf & 0x1) q += 8;
    if (tf & 0x2) q += 4;
    if (tf & 0x8) q += 4;
    if (tf & 0x10) q += 4;
    if (tf & 0x20) flags = be32(b, q);
  }
  if (trun && (be32(b, trun.body) & 0x4)) {
    const rf = be32(b, trun.body) & 0xffffff;
    flags = be32(b, trun.body + 8 + (rf & 0x1 ? 4 : 0));
  }
  const decodeTime = tfdt ? (b[tfdt.body] === 1 ? be64(b, tfdt.body + 4) : be32(b, tfdt.body + 4)) : NaN;
  let end = moof.at + moof.size;
  const next = boxesIn(b, end, Math.min(b.length, end + 16))[0];
  if (next && next.type === "mdat") end += next.size;
  return { decodeTime, key: !(flags & 0x10000), end };
}
