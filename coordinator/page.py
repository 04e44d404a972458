"""The server-rendered job list at ``GET /``. Job data is untrusted: every value is escaped
with html.escape, and URLs are built only from validated CIDs."""

from __future__ import annotations

from html import escape

from . import __version__

_IMAGE_FORMATS = {"PNG", "JPEG"}
_STYLE = ("body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
          "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;font-size:90%}"
          ".failed{color:#a00}.completed{color:#070}img{max-width:160px;max-height:120px}")


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


def render_page(jobs: list[dict], counts: dict[str, int], gateway: str) -> str:
    """The HTML document. ``gateway``: base URL of the IPFS gateway (no trailing slash)."""
    summary = ", ".join(f"{escape(k)}: {int(v)}" for k, v in sorted(counts.items()))
    rows = []
    for job in jobs:
        status = escape(job["status"])
        render = "" if job["render_seconds"] is None else f"{job['render_seconds']:.2f} s"
        rows.append(
            f'<tr class="{status}">' + _cell(job["id"]) + _cell(job["status"])
            + _cell(job["worker_address"]) + _cell(f"{job['attempts']}/{job['max_attempts']}")
            + _cell(job["reward"]) + _cell(", ".join(map(str, job["frames"])) or "current")
            + _cell(job["output_format"]) + _cell(job["created_at"])
            + _cell(job["updated_at"]) + _cell(render) + _cell(job["error"])
            + _result(job, gateway) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("id", "state", "worker", "attempts", "reward",
                                            "frames", "format", "created", "updated",
                                            "render", "error", "result"))
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            f"<title>Farmhand coordinator</title><style>{_STYLE}</style></head><body>"
            f"<h1>Farmhand coordinator {escape(__version__)}</h1><p>{summary}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            "</body></html>")
