// Farmhand's front end for creators: sign in with an Ed25519 key, upload a .blend (streamed
// into IPFS by the coordinator), submit a job, watch it render live from the event stream, and
// get the frames back. Views by URL hash: #/submit, #/jobs, #/job/<id>, #/workers.

import * as api from "./api.js";
import { describeFrames, frameFilename, parseFrames } from "./frames.js";
import { forgetKey, loadOrCreateKey, signIn, storedKey } from "./identity.js";
import { duration, el, fill, gatewayUrl, setBar, short, when } from "./views.js";

const $ = (id) => document.getElementById(id);
const state = {
  site: { gateway_url: "", max_upload_bytes: 0, version: "" },
  me: { address: null, operator: false },
  upload: null,           // the stored upload: {cid, size, blender_version, ...}
  stopStream: null,       // stops the job view's event stream
  refreshTimer: null,
};

// -- messages ---------------------------------------------------------------------------

function banner(message, kind = "error") {
  const node = $("banner");
  node.textContent = message;
  node.className = `banner ${kind}`;
  node.hidden = !message;
}

function explain(err) {
  return err instanceof api.ApiError ? `${err.message} (${err.code})` : String(err.message || err);
}

// -- identity ---------------------------------------------------------------------------

async function refreshMe() {
  try {
    state.me = await api.get("/api/v1/me");
  } catch {
    state.me = { address: null, operator: false };
  }
  const who = $("who");
  if (state.me.address) who.textContent = `signed in as ${short(state.me.address)}`;
  else who.textContent = state.me.operator ? "operator (dev mode)" : "not signed in";
  who.title = state.me.address || "";
  $("signin").hidden = Boolean(state.me.address);
  $("signout").hidden = !state.me.address;
}

async function doSignIn(create) {
  try {
    const pair = create ? await loadOrCreateKey() : await storedKey();
    if (!pair) return;
    const session = await signIn(pair, api.post);
    api.setToken(session.token);
    // Renew before the token runs out (60 s margin, as workers do).
    setTimeout(() => doSignIn(false), Math.max(30000, session.expiresAt - Date.now() - 60000));
    banner("");
  } catch (err) {
    banner(`Sign-in failed: ${explain(err)}`);
  }
  await refreshMe();
}

async function doSignOut() {
  await forgetKey();
  api.setToken(null);
  await refreshMe();
  route();
}

// -- submit -----------------------------------------------------------------------------

function showUploadText(text, kind = "") {
  const node = $("upload-text");
  node.textContent = text;
  node.className = kind;
}

async function takeFile(file) {
  banner("");
  $("job-form").hidden = true;
  state.upload = null;
  if (!file) return;
  if (!/\.blend\d*$/i.test(file.name)) {
    showUploadText(`${file.name} is not a .blend file: drop the scene you saved in Blender.`, "error");
    $("upload").hidden = false;
    return;
  }
  const limit = state.site.max_upload_bytes;
  if (limit && file.size > limit) {
    showUploadText(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MiB; this coordinator takes at most ${(limit / 2 ** 20).toFixed(0)} MiB.`, "error");
    $("upload").hidden = false;
    return;
  }
  $("upload").hidden = false;
  setBar($("upload-bar"), 0);
  showUploadText(`Uploading ${file.name}…`);
  try {
    const stored = await api.upload(file, (sent, total) => {
      setBar($("upload-bar"), sent / total);
      showUploadText(`Uploading ${file.name}: ${(sent / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`);
    });
    setBar($("upload-bar"), 1);
    state.upload = stored;
    showUploadText(`${file.name}: ${(stored.size / 2 ** 20).toFixed(2)} MiB, Blender ${stored.blender_version}, stored as ${stored.cid}`, "ok");
    $("job-form").hidden = false;
    updateFramesText();
  } catch (err) {
    const known = {
      not_a_blend: "This is not a Blender file.",
      blend_corrupt: "This .blend is damaged or incomplete.",
      upload_too_large: "This file is too large for this coordinator.",
      token_missing: "Sign in before uploading.",
      too_new: `${file.name} needs a newer Blender than any worker has.`,
    };
    showUploadText(`${known[err.code] || "Upload failed."} ${explain(err)}`, "error");
  }
}

function updateFramesText() {
  const node = $("frames-text");
  try {
    const frames = parseFrames($("frames").value);
    const chunk = Number($("chunk").value) || frames.length;
    node.textContent = `${frames.length} frame(s) (${describeFrames(frames)}) in ${Math.ceil(frames.length / chunk)} task(s)`;
    node.className = "hint";
  } catch (err) {
    node.textContent = err.message;
    node.className = "hint error";
  }
}

async function submitJob(event) {
  event.preventDefault();
  if (!state.upload) return;
  let frames;
  try {
    frames = parseFrames($("frames").value);
  } catch (err) {
    banner(err.message);
    return;
  }
  try {
    const job = await api.post("/api/v1/jobs", {
      asset_cid: state.upload.cid, frames, output_format: $("format").value,
      reward: $("reward").value.trim(), chunk_size: Number($("chunk").value), max_attempts: 3,
      priority: Number($("priority").value),
    });
    location.hash = `#/job/${job.id}`;
  } catch (err) {
    banner(`The coordinator refused the job: ${explain(err)}`);
  }
}

// -- job list ---------------------------------------------------------------------------

function framesDone(job) {
  const total = job.frames_total ?? job.frames.length ?? 0;
  const done = job.frames_done ?? (job.status === "completed" ? total : 0);
  return { done, total };
}

async function showJobs() {
  const creator = $("filter-mine").checked ? state.me.address || "" : $("filter-creator").value.trim();
  try {
    const { jobs } = await api.get("/api/v1/jobs", { status: $("filter-state").value, creator });
    fill($("jobs"), ...jobs.map((job) => {
      const { done, total } = framesDone(job);
      const bar = el("div");
      setBar(bar, total ? done / total : 0);
      return el("tr", { class: job.status, "data-job": job.id },
        el("td", {}, el("a", { href: `#/job/${job.id}` }, `#${job.id}`)),
        el("td", {}, job.status),
        el("td", { title: job.creator || "" }, short(job.creator || "")),
        el("td", {}, `${done}/${total || "current"}`),
        el("td", {}, el("div", { class: "bar" }, bar)),
        el("td", {}, String(job.priority ?? 0)),
        el("td", {}, job.reward),
        el("td", {}, when(job.created_at)));
    }));
  } catch (err) {
    banner(`Cannot list jobs: ${explain(err)}`);
  }
}

// -- one job, live ----------------------------------------------------------------------

const FAILURE_TYPES = new Set(["failed", "lease_expired", "rejected", "crashed", "disputed", "flagged"]);

function owns(job) {
  return state.me.operator || (state.me.address && job.creator === state.me.address);
}

function thumbnail(job, task, frame) {
  const gateway = state.site.gateway_url;
  if (!task || !task.result_cid || !["PNG", "JPEG"].includes(job.output_format)) return null;
  const single = (task.result_frames || task.frames || []).length <= 1;
  return gatewayUrl(gateway, task.result_cid, single ? null : frameFilename(frame, job.output_format));
}

function renderGrid(job, tasks) {
  const byFrame = new Map();
  for (const task of tasks) {
    if (task.kind === "verify") continue;
    for (const f of task.frames || []) byFrame.set(f, task);
  }
  const status = job.frame_status || {};
  const cells = (job.frames.length ? job.frames : [null]).map((frame) => {
    const task = byFrame.get(frame);
    const st = status[String(frame)] || (task ? task.status : job.status);
    const src = st === "completed" ? thumbnail(job, task, frame) : null;
    const cell = el("figure", { class: `frame ${st}`, "data-frame": frame ?? "current", "data-state": st },
      src ? el("img", { src, alt: `frame ${frame}`, loading: "lazy" }) : el("div", { class: "placeholder" }),
      el("figcaption", {}, frame === null ? "current" : String(frame)));
    if (task && task.worker_address) cell.title = `${st} · ${task.worker_address}`;
    return cell;
  });
  fill($("grid"), ...cells);
}

function renderProgress(job, events) {
  const { done, total } = framesDone(job);
  setBar($("job-bar"), total ? done / total : job.status === "completed" ? 1 : 0);
  let text = `${done} of ${total} frame(s) done`;
  const started = events.find((e) => e.type === "assigned");
  if (started && done > 0 && done < total && !["cancelled", "failed"].includes(job.status)) {
    const elapsed = (Date.now() - new Date(started.created_at).getTime()) / 1000;
    text += ` · about ${duration((elapsed / done) * (total - done))} left`;
  }
  if (job.status === "completed" && job.render_seconds != null) {
    text += ` · ${job.render_seconds.toFixed(1)} s of rendering`;
  }
  $("job-progress").textContent = text;
}

function renderWorkers(tasks) {
  const workers = new Map();
  for (const task of tasks) {
    if (!task.worker_address) continue;
    const w = workers.get(task.worker_address) || { rendering: 0, done: 0 };
    if (task.status === "assigned") w.rendering += (task.frames || []).length || 1;
    if (task.status === "completed") w.done += (task.frames || []).length || 1;
    workers.set(task.worker_address, w);
  }
  fill($("job-workers"), ...[...workers].map(([address, w]) => el("li", { title: address },
    el("code", {}, short(address)), ` ${w.rendering ? `rendering ${w.rendering} frame(s), ` : ""}${w.done} done`)));
  if (!workers.size) fill($("job-workers"), el("li", { class: "hint" }, "no worker yet"));
}

function renderEvents(events) {
  fill($("events"), ...events.map((e) => el("li", { "data-event": e.id, class: e.type },
    el("span", { class: "hint" }, when(e.created_at)), " ", el("b", {}, e.type),
    e.task_id && e.task_id !== e.job_id ? ` task ${e.task_id}` : "",
    e.worker_address ? ` · ${short(e.worker_address)}` : "", e.detail ? ` · ${e.detail}` : "")));
  const failures = events.filter((e) => FAILURE_TYPES.has(e.type));
  fill($("failures"), ...failures.map((e) => el("li", { class: "failure" },
    `${e.type}${e.worker_address ? ` (${short(e.worker_address)})` : ""}: ${e.detail || "no reason given"}`)));
  if (!failures.length) fill($("failures"), el("li", { class: "hint" }, "none"));
}

function renderResults(job) {
  const cid = job.status === "completed" ? job.result_cid : null;
  $("results").hidden = !cid;
  if (!cid) return;
  $("open-gateway").href = gatewayUrl(state.site.gateway_url, cid) || "#";
  $("archive").href = `/api/v1/jobs/${job.id}/archive?cid=${encodeURIComponent(cid)}`;
  $("archive").setAttribute("download", `farmhand-job-${job.id}.tar`);
  $("result-cid").textContent = cid;
}

async function loadJob(id) {
  const [job, taskReply, eventReply] = await Promise.all([
    api.get(`/api/v1/jobs/${id}`),
    api.get(`/api/v1/jobs/${id}/tasks`).catch(() => null),
    api.get(`/api/v1/jobs/${id}/events`),
  ]);
  return { job, tasks: taskReply ? taskReply.tasks : [job], events: eventReply.events };
}

function renderJob({ job, tasks, events }) {
  $("job-title").textContent = `Job #${job.id}`;
  $("job-state").textContent = job.status;
  $("job-state").className = `state ${job.status}`;
  const mine = owns(job);
  $("job-owner").textContent = job.creator ? `by ${short(job.creator)}${mine ? " (you)" : ""}` : "";
  $("cancel").hidden = !mine || !["pending", "assigned"].includes(job.status);
  $("job-priority").textContent = String(job.priority ?? 0);
  const form = $("priority-form");
  const wasHidden = form.hidden;
  form.hidden = $("cancel").hidden;
  if (wasHidden && !form.hidden) $("new-priority").value = String(job.priority ?? 0);
  renderGrid(job, tasks);
  renderProgress(job, events);
  renderWorkers(tasks);
  renderEvents(events);
  renderResults(job);
  if (!mine && job.creator) {
    $("results").hidden = true;
  }
}

async function showJob(id) {
  let snapshot;
  try {
    snapshot = await loadJob(id);
  } catch (err) {
    banner(`Cannot show job ${id}: ${explain(err)}`);
    return;
  }
  renderJob(snapshot);
  const lastId = snapshot.events.reduce((m, e) => Math.max(m, e.id), 0);
  const jobIds = new Set([snapshot.job.id, ...snapshot.tasks.map((t) => t.id)]);
  const refresh = () => {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(async () => {
      try {
        const next = await loadJob(id);
        next.tasks.forEach((t) => jobIds.add(t.id));
        renderJob(next);
        if (state.refreshFailed) banner("");  // the coordinator is back: the old error goes
        state.refreshFailed = false;
      } catch (err) {
        state.refreshFailed = true;
        banner(`Cannot refresh job ${id}: ${explain(err)}`);
      }
    }, 100);
  };
  state.stopStream = api.followEvents(lastId, (event) => {
    if (jobIds.has(event.job_id) || jobIds.has(event.task_id)) refresh();
  }, (s) => {
    $("stream-state").textContent = s === "live" ? "live" : "reconnecting…";
    $("stream-state").dataset.state = s;
    if (s === "live") refresh();
  });
}

async function cancelJob() {
  const id = location.hash.split("/")[2];
  if (!confirm(`Cancel job ${id}? Frames already rendered are kept.`)) return;
  try {
    await api.post(`/api/v1/jobs/${id}/cancel`, { reason: "cancelled from the web page" });
  } catch (err) {
    banner(`Cannot cancel: ${explain(err)}`);
  }
}

async function setPriority(event) {
  event.preventDefault();
  const id = location.hash.split("/")[2];
  try {
    const { job } = await api.post(`/api/v1/jobs/${id}/priority`, { priority: Number($("new-priority").value) });
    $("job-priority").textContent = String(job.priority);
  } catch (err) {
    banner(`Cannot change the priority: ${explain(err)}`);
  }
}

// -- workers ----------------------------------------------------------------------------

async function showWorkers() {
  try {
    const { workers } = await api.get("/api/v1/workers");
    fill($("workers"), ...workers.map((w) => el("tr", { class: w.blocked ? "failed" : "", "data-blender": w.blender_version || "" },
      el("td", { title: w.address }, el("code", {}, short(w.address))),
      el("td", {}, w.blender_version || "?"), el("td", {}, w.device || "?"),
      el("td", {}, w.completed ?? 0), el("td", {}, w.verified ?? 0), el("td", {}, w.disputed ?? 0),
      el("td", {}, w.rejected ?? 0), el("td", {}, w.flags ?? 0), el("td", {}, w.blocked ? "yes" : "no"),
      el("td", {}, when(w.last_seen)))));
  } catch (err) {
    banner(`Cannot list workers: ${explain(err)}`);
  }
}

// -- routing ----------------------------------------------------------------------------

function route() {
  if (state.stopStream) {
    state.stopStream();
    state.stopStream = null;
  }
  const [, view = "jobs", arg] = (location.hash || "#/jobs").split("/");
  for (const name of ["submit", "jobs", "job", "workers"]) {
    $(`view-${name}`).hidden = name !== view;
  }
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === view));
  banner("");
  if (view === "jobs") showJobs();
  else if (view === "job" && /^\d+$/.test(arg || "")) showJob(Number(arg));
  else if (view === "workers") showWorkers();
}

async function start() {
  try {
    state.site = await api.get("/api/v1/site");
  } catch (err) {
    banner(`Cannot reach the coordinator: ${explain(err)}`);
  }
  $("footer").textContent = `Farmhand coordinator ${state.site.version || ""}`;
  if (state.site.max_upload_bytes) {
    $("limit").textContent = `Up to ${(state.site.max_upload_bytes / 2 ** 20).toFixed(0)} MiB. The file is stored in IPFS and rendered by the farm's workers.`;
  }
  $("signin").addEventListener("click", () => doSignIn(true));
  $("signout").addEventListener("click", doSignOut);
  $("file").addEventListener("change", (e) => takeFile(e.target.files[0]));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    takeFile(e.dataTransfer.files[0]);
  });
  $("frames").addEventListener("input", updateFramesText);
  $("chunk").addEventListener("input", updateFramesText);
  $("job-form").addEventListener("submit", submitJob);
  $("cancel").addEventListener("click", cancelJob);
  $("priority-form").addEventListener("submit", setPriority);
  $("copy-cid").addEventListener("click", () => navigator.clipboard.writeText($("result-cid").textContent));
  for (const id of ["filter-state", "filter-creator", "filter-mine"]) $(id).addEventListener("change", showJobs);
  window.addEventListener("hashchange", route);
  await doSignIn(false);  // a key kept from an earlier visit signs in by itself
  route();
}

start();
