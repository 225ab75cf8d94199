// A zip read over HTTP byte ranges: its end, its (ZIP64) central directory, then only the members
// the page shows. Every request asks for a range with `cache: "no-store"` and trusts Content-Range,
// not the status: `rclone serve s3` answers a range with 200 (and the right Content-Range), and
// chromium would otherwise keep that short body as the whole object. A HEAD on a presigned GET URL
// fails its signature, so the zip's size comes from the first answer (a suffix range).

const TAIL_BYTES = 64 * 1024;  // EOCD (+ ZIP64 locator and record, + often the whole directory)
const LOCAL_SLACK = 128;  // a local header's extra field may be longer than the directory's
const COALESCE_GAP = 64 * 1024;  // members closer than this are read with one request
const COALESCE_MAX = 8 * 1024 * 1024;
const PARALLEL = 6;  // what a browser opens to one host over HTTP/1.1

const netStats = { requests: 0, bytes: 0 };

class HttpError extends Error {
  constructor(status, text) {
    super("HTTP " + status);
    this.status = status;
    // Past its time, a presigned URL gets 403 "Request has expired" from AWS S3, 400 "The difference
    // between the request time and the server's time exceeds the maximum allowed" from rclone.
    this.expired = (status === 403 || status === 400) && /expired|request time/i.test(text || "");
    this.text = text || "";
  }
}

// Bytes [start, end) of `url` (or its last `suffix` bytes): {bytes, start, total}. `signal` cancels it.
async function fetchRange(url, start, end, suffix, signal) {
  const range = suffix ? "bytes=-" + suffix : "bytes=" + start + "-" + (end - 1);
  netStats.requests++;
  const res = await fetch(url, { headers: { Range: range }, cache: "no-store", credentials: "omit",
    referrerPolicy: "no-referrer", signal });
  if (!res.ok) throw new HttpError(res.status, await res.text().catch(() => ""));
  const bytes = new Uint8Array(await res.arrayBuffer());
  netStats.bytes += bytes.length;
  const m = /bytes\s+(\d+)-(\d+)\/(\d+|\*)/i.exec(res.headers.get("Content-Range") || "");
  if (m) return { bytes, start: Number(m[1]), total: m[3] === "*" ? NaN : Number(m[3]) };
  // No Content-Range: the server sent the whole object.
  if (suffix) return { bytes, start: 0, total: bytes.length };
  return { bytes: bytes.subarray(start, end), start, total: bytes.length };
}

// Up to `limit` promises at a time from `jobs` (functions returning promises), results in order.
async function pool(jobs, limit) {
  const out = new Array(jobs.length);
  let next = 0;
  async function worker() { while (next < jobs.length) { const i = next++; out[i] = await jobs[i](); } }
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

async function inflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function u16(b, o) { return b[o] | (b[o + 1] << 8); }
function u32(b, o) { return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000; }
function u64(b, o) { return u32(b, o) + u32(b, o + 4) * 0x100000000; }

const utf8 = new TextDecoder("utf-8");

class RemoteZip {
  constructor(url) {
    this.url = url;
    this.size = 0;
    this.entries = new Map();  // name -> {name, method, compSize, size, lho, nameLen, extraLen, dataStart}
  }

  read(start, end, signal) { return fetchRange(this.url, start, end, 0, signal); }

  async open() {
    const tail = await fetchRange(this.url, 0, 0, TAIL_BYTES);
    this.size = tail.total;
    const b = tail.bytes, base = tail.start;
    let e = -1;
    for (let i = b.length - 22; i >= 0; i--) {
      if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 5 && b[i + 3] === 6) { e = i; break; }
    }
    if (e < 0) throw new Error("not a zip (no end of central directory)");
    let count = u16(b, e + 10), cdSize = u32(b, e + 12), cdOffset = u32(b, e + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = e - 20;
      if (loc < 0 || u32(b, loc) !== 0x07064b50) throw new Error("ZIP64 locator missing");
      const recAt = u64(b, loc + 8);
      const rec = recAt >= base ? b.subarray(recAt - base, recAt - base + 56) : (await this.read(recAt, recAt + 56)).bytes;
      if (u32(rec, 0) !== 0x06064b50) throw new Error("ZIP64 end record missing");
      count = u64(rec, 32); cdSize = u64(rec, 40); cdOffset = u64(rec, 48);
    }
    let cd;
    if (cdOffset >= base) cd = b.subarray(cdOffset - base, cdOffset - base + cdSize);
    else {
      const head = (await this.read(cdOffset, base)).bytes;
      cd = new Uint8Array(cdSize);
      cd.set(head.subarray(0, Math.min(head.length, cdSize)));
      if (head.length < cdSize) cd.set(b.subarray(0, cdSize - head.length), head.length);
    }
    this.parseDirectory(cd, count);
    return this;
  }

  parseDirectory(cd, count) {
    let p = 0;
    for (let k = 0; k < count && p + 46 <= cd.length; k++) {
      if (u32(cd, p) !== 0x02014b50) throw new Error("bad central directory entry");
      const nameLen = u16(cd, p + 28), extraLen = u16(cd, p + 30), commentLen = u16(cd, p + 32);
      const ent = { method: u16(cd, p + 10), compSize: u32(cd, p + 20), size: u32(cd, p + 24), lho: u32(cd, p + 42),
        nameLen, extraLen, dataStart: -1 };
      ent.name = utf8.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extra (0x0001): the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
      let x = p + 46 + nameLen;
      const xEnd = x + extraLen;
      while (x + 4 <= xEnd) {
        const id = u16(cd, x), len = u16(cd, x + 2);
        if (id === 1) {
          let q = x + 4;
          if (ent.size === 0xffffffff) { ent.size = u64(cd, q); q += 8; }
          if (ent.compSize === 0xffffffff) { ent.compSize = u64(cd, q); q += 8; }
          if (ent.lho === 0xffffffff) { ent.lho = u64(cd, q); q += 8; }
        }
        x += 4 + len;
      }
      this.entries.set(ent.name, ent);
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  has(name) { return this.entries.has(name); }
  entry(name) { return this.entries.get(name); }
  names() { return Array.from(this.entries.keys()); }

  // The raw (stored or deflated) bytes of each member, reading close members with one request.
  async rawMany(names) {
    const ents = names.map((n) => this.entries.get(n)).filter(Boolean).sort((a, b) => a.lho - b.lho);
    const groups = [];
    for (const ent of ents) {
      const end = ent.lho + 30 + ent.nameLen + ent.extraLen + LOCAL_SLACK + ent.compSize;
      const g = groups[groups.length - 1];
      if (g && ent.lho - g.end <= COALESCE_GAP && Math.max(end, g.end) - g.start <= COALESCE_MAX) {
        g.ents.push(ent); g.end = Math.max(g.end, end);
      } else groups.push({ start: ent.lho, end, ents: [ent] });
    }
    const out = new Map();
    await pool(groups.map((g) => async () => {
      const got = await this.read(g.start, Math.min(g.end, this.size));
      for (const ent of g.ents) out.set(ent.name, await this.slice(ent, got));
    }), PARALLEL);
    return out;
  }

  // A member's data out of a fetched span that starts at or before its local header.
  async slice(ent, got) {
    const at = ent.lho - got.start, b = got.bytes;
    if (at < 0 || at + 30 > b.length || u32(b, at) !== 0x04034b50) throw new Error("bad local header: " + ent.name);
    ent.dataStart = ent.lho + 30 + u16(b, at + 26) + u16(b, at + 28);
    const from = ent.dataStart - got.start;
    if (from + ent.compSize <= b.length) return b.subarray(from, from + ent.compSize);
    const rest = await this.read(got.start + b.length, ent.dataStart + ent.compSize);
    const whole = new Uint8Array(ent.compSize);
    whole.set(b.subarray(from));
    whole.set(rest.bytes, b.length - from);
    return whole;
  }

  // Members as their bytes (inflated when deflated), by name.
  async readMany(names) {
    const raw = await this.rawMany(names);
    const out = new Map();
    await Promise.all(Array.from(raw, async ([name, bytes]) => {
      const ent = this.entries.get(name);
      if (ent.method === 0) out.set(name, bytes);
      else if (ent.method === 8) out.set(name, await inflateRaw(bytes));
      else throw new Error(name + ": compression method " + ent.method + " is not supported");
    }));
    return out;
  }

  async readOne(name) { return (await this.readMany([name])).get(name); }

  // Where a stored member's data starts in the zip (its local header read once, with `want` bytes after).
  async dataStart(name, want) {
    const ent = this.entries.get(name);
    if (ent.dataStart < 0) {
      const got = await this.read(ent.lho, Math.min(this.size, ent.lho + 30 + ent.nameLen + ent.extraLen + LOCAL_SLACK + (want || 0)));
      const from = ent.lho + 30 + u16(got.bytes, 26) + u16(got.bytes, 28);
      if (u32(got.bytes, 0) !== 0x04034b50) throw new Error("bad local header: " + name);
      ent.dataStart = from;
      return { start: from, head: got.bytes.subarray(from - got.start) };
    }
    return { start: ent.dataStart, head: null };
  }
}
