// The coordinator's HTTP API (docs/protocol.md), same origin. The token travels only in the
// Authorization header (never a cookie), so another site cannot make requests on the creator's
// behalf; the coordinator also refuses state-changing requests from a foreign Origin.

let token = null;

/** Use `value` (a JWT, or null) for every following request. */
export function setToken(value) {
  token = value;
}

/** An API error: `status` (HTTP), `code` (the protocol's snake_case id), `message`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function decode(resp) {
  const text = await resp.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!resp.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(resp.status, err.code || `http_${resp.status}`, err.message || text.slice(0, 200) || resp.statusText);
  }
  return body;
}

/** GET `path` (with `params` as the query) -> decoded JSON. Throws ApiError. */
export async function get(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  const url = query.toString() ? `${path}?${query}` : path;
  return decode(await fetch(url, { headers: headers(), cache: "no-store" }));
}

/** POST JSON `body` to `path` -> decoded JSON. Throws ApiError. */
export async function post(path, body = {}) {
  return decode(await fetch(path, {
    method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
  }));
}

/**
 * Upload a file as the raw request body (the coordinator streams it into IPFS).
 * @param {File} file
 * @param {(sent: number, total: number) => void} onProgress bytes
 * @returns {Promise<{cid: string, size: number, blender_version: string, version: number, compression: string}>}
 */
export function upload(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/uploads");
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, "network", "the upload was interrupted (network error); try again"));
    xhr.onload = () => {
      decode(new Response(xhr.responseText, { status: xhr.status })).then(resolve, reject);
    };
    xhr.send(file);
  });
}

/**
 * Follow the coordinator's Server-Sent Events stream (/api/v1/events/stream) with fetch, so the
 * Authorization header can be sent, reconnecting after any break with Last-Event-ID so no event
 * is missed (the coordinator replays every event after that id).
 * @param {number} lastId the last event id already seen (events after it are delivered)
 * @param {(event: object) => void} onEvent each event object, in id order
 * @param {(state: string) => void} onState "live" | "reconnecting"
 * @returns {() => void} stop
 */
export function followEvents(lastId, onEvent, onState) {
  let stopped = false;
  let controller = null;
  let delay = 500;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const h = headers({ Accept: "text/event-stream" });
        if (lastId > 0) h["Last-Event-ID"] = String(lastId);
        const resp = await fetch("/api/v1/events/stream", { headers: h, signal: controller.signal, cache: "no-store" });
        if (!resp.ok) throw new Error(`stream answered ${resp.status}`);
        onState("live");
        delay = 500;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const message = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let id = null;
            let data = "";
            for (const line of message.split("\n")) {
              if (line.startsWith("id: ")) id = Number(line.slice(4));
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (id !== null && data) {
              lastId = id;
              onEvent(JSON.parse(data));
            }
          }
        }
      } catch (err) {
        if (stopped) return;
      }
      if (stopped) return;
      onState("reconnecting");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  };
  run();
  return () => {
    stopped = true;
    if (controller) controller.abort();
  };
}
