// DOM helpers. Every value from the coordinator is put in with textContent or as an attribute
// value (never innerHTML), so job data cannot inject markup; URLs are built only from CIDs
// checked against the CID alphabet.

/**
 * Make an element. `attrs`: attributes (class, href, data-*, ...); `children`: strings (text
 * nodes) or elements.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replace all children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren(...children.filter((c) => c !== null && c !== undefined));
}

const CID_RE = /^[A-Za-z0-9]{10,256}$/;

/** `gateway`/ipfs/`cid`[/`file`] if `cid` has only CID characters, else null. */
export function gatewayUrl(gateway, cid, file) {
  if (!cid || !CID_RE.test(cid)) return null;
  const base = `${gateway.replace(/\/+$/, "")}/ipfs/${cid}`;
  return file ? `${base}/${encodeURIComponent(file)}` : base;
}

/** "0x1234…abcd" for an address; other creator names unchanged. */
export function short(address) {
  if (typeof address !== "string") return "";
  return /^0x[0-9a-f]{64}$/.test(address) ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** Seconds -> "1 h 2 min", "3 min 4 s", "5 s". */
export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/** A progress bar's inner element width (CSSOM, allowed by the CSP). */
export function setBar(node, fraction) {
  node.style.width = `${Math.max(0, Math.min(1, fraction || 0)) * 100}%`;
}

/** "2026-12-03T08:00:00.000Z" -> local "08:00:00" today, or date and time. */
export function when(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return "";
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}
