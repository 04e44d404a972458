"""The server-rendered job list at ``GET /``. Job data is untrusted: every value is escaped
with html.escape, and URLs are built only from validated CIDs."""

from __future__ import annotations

from html import escape

from . import __version__

_IMAGE_FORMATS = {"PNG", "JPEG"}
_STYLE = ("body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:90%}"
          ".failed{color:#a00}.completed{color:#070}img{max-width:160px;max-height:120px}"
          ".grid{display:flex;flex-wrap:wrap;max-width:24em;gap:1px}.grid i{width:.7em;"
          "height:.7em;background:#ddd}.grid i.assigned{background:#fc3}.grid i.completed"
          "{background:#3a3}.grid i.failed{background:#c33}.grid i.cancelled{background:#888}"
          ".blocked{color:#a00;font-weight:bold}")
_GRID_MAX = 2000    # frames drawn one cell each; beyond, only the counts


def _cell(value) -> str:
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _result(job: dict, gateway: str) -> str:
    cid = job.get("result_cid")
    if not cid:
        return "<td></td>"
    url = escape(f"{gateway}/ipfs/{cid}", quote=True)
    inner = escape(cid)
    frames = job.get("result_frames") or job.get("frames") or []
    if job.get("output_format") in _IMAGE_FORMATS and len(frames) <= 1:
        inner = f'<img src="{url}" alt="result of job {int(job["id"])}" loading="lazy"><br>{inner}'
    return f'<td><a href="{url}" rel="noopener noreferrer">{inner}</a></td>'


def frame_ranges(frames: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"`` (runs of consecutive frames, in the given order)."""
    runs: list[list[int]] = []
    for f in frames:
        if runs and f == runs[-1][-1] + 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _progress(job: dict) -> str:
    """"done/total frames" and, for several frames, one cell per frame coloured by its task's
    state (the per-frame grid; title = frame number and state)."""
    text = escape(f"{job.get('frames_done', 0)}/{job.get('frames_total', 1)} frames, "
                  f"{job.get('tasks_done', 0)}/{job.get('tasks_total', 1)} tasks")
    grid = job.get("frame_status") or {}
    if 1 < len(grid) <= _GRID_MAX:
        cells = "".join(f'<i class="{escape(state, quote=True)}" title="frame '
                        f'{escape(frame, quote=True)}: {escape(state, quote=True)}"></i>'
                        for frame, state in grid.items())
        text += f'<div class="grid">{cells}</div>'
    return f"<td>{text}</td>"


def _workers_table(workers: list[dict]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("worker", "Blender", "device", "completed",
                                            "verified", "disputed", "rejected", "flags",
                                            "crashes", "blocked", "last seen"))
    rows = []
    for w in workers:
        blocked = "blocked" if w["blocked"] else ""
        rows.append(f'<tr class="{blocked}">' + "".join(_cell(w[k]) for k in (
            "address", "blender_version", "device", "completed", "verified", "disputed",
            "rejected", "flags", "crashes")) + _cell("yes" if w["blocked"] else "no")
            + _cell(w["last_seen"]) + "</tr>")
    return (f"<h2>Workers</h2><table id=\"workers\"><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def render_page(jobs: list[dict], counts: dict[str, int], gateway: str,
                workers: list[dict] | None = None) -> str:
    """The HTML document. ``gateway``: base URL of the IPFS gateway (no trailing slash);
    ``workers``: worker records (docs/protocol.md "Worker records") for the workers table."""
    summary = ", ".join(f"{escape(k)}: {int(v)}" for k, v in sorted(counts.items()))
    rows = []
    for job in jobs:
        status = escape(job["status"])
        render = "" if job["render_seconds"] is None else f"{job['render_seconds']:.2f} s"
        rows.append(
            f'<tr class="{status}">' + _cell(job["id"]) + _cell(job["status"])
            + _cell(job["worker_address"]) + _cell(f"{job['attempts']}/{job['max_attempts']}")
            + _cell(job["reward"]) + _cell(frame_ranges(job["frames"]) or "current")
            + _cell(job["output_format"]) + _cell(job["created_at"])
            + _cell(job["updated_at"]) + _cell(render)
            + _cell(f"[{job['error_code']}] {job['error']}" if job.get("error_code")
                    else job["error"])
            + _result(job, gateway) + _cell(job.get("creator")) + _progress(job)
            + _cell(job.get("priority", 0)) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("id", "state", "worker", "attempts", "reward",
                                            "frames", "format", "created", "updated",
                                            "render", "error", "result", "creator",
                                            "progress", "priority"))
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            f"<title>Farmhand coordinator</title><style>{_STYLE}</style></head><body>"
            f"<h1>Farmhand coordinator {escape(__version__)}</h1><p>{summary}</p>"
            "<p><a href=\"/web/\">Creators: submit a scene and watch it render</a></p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"{_workers_table(workers or [])}</body></html>")
