// Frame lists as creators type them: "1-250", "1,3,5-9". Same rules as the coordinator's
// `frames` (docs/protocol.md "Conventions"): distinct integers within Blender's range,
// at most 10000 of them.

export const MAX_FRAME = 1048574;
export const MAX_FRAMES = 10000;

/**
 * Parse a frame specification.
 * @param {string} text e.g. "1-250" or "1,3,5-9" (spaces allowed)
 * @returns {number[]} the frames in the order given
 * @throws {Error} naming the part that is wrong and what to write instead
 */
export function parseFrames(text) {
  const frames = [];
  const seen = new Set();
  const parts = String(text).split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) throw new Error('give the frames to render, e.g. "1-250" or "1,3,5-9"');
  for (const part of parts) {
    const m = /^(-?\d+)(?:\s*-\s*(-?\d+))?$/.exec(part);
    if (!m) throw new Error(`"${part}" is not a frame or a range like 5-9`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new Error(`the range ${part} runs backwards; write ${last}-${first}`);
    for (const f of [first, last]) {
      if (Math.abs(f) > MAX_FRAME) throw new Error(`frame ${f} is outside Blender's range ±${MAX_FRAME}`);
    }
    if (frames.length + (last - first + 1) > MAX_FRAMES) {
      throw new Error(`at most ${MAX_FRAMES} frames per job`);
    }
    for (let f = first; f <= last; f++) {
      if (seen.has(f)) throw new Error(`frame ${f} is listed twice`);
      seen.add(f);
      frames.push(f);
    }
  }
  return frames;
}

/**
 * A short description of a frame list: [1,2,3,5] -> "1-3, 5".
 * @param {number[]} frames
 * @returns {string}
 */
export function describeFrames(frames) {
  const sorted = [...frames].sort((a, b) => a - b);
  const out = [];
  let start = null;
  let prev = null;
  for (const f of sorted) {
    if (start === null) { start = prev = f; continue; }
    if (f === prev + 1) { prev = f; continue; }
    out.push(start === prev ? `${start}` : `${start}-${prev}`);
    start = prev = f;
  }
  if (start !== null) out.push(start === prev ? `${start}` : `${start}-${prev}`);
  return out.join(", ");
}

/** The engine's file name of a frame (addon/farmhand/render.py frame_filename). */
export function frameFilename(frame, format) {
  const ext = { PNG: ".png", JPEG: ".jpg", OPEN_EXR: ".exr" }[format] || ".png";
  // Python's f"{frame:04d}": the sign counts towards the width (-1 -> "-001").
  const digits = frame < 0 ? "-" + String(-frame).padStart(3, "0") : String(frame).padStart(4, "0");
  return `frame_${digits}${ext}`;
}
