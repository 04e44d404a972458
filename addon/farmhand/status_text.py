"""What the artist reads: the GUI worker's state in plain words (no bpy; unit-tested).

``describe(snapshot)`` -> :class:`Words`: ``headline`` for the status bar ("Rendering job 42
— frame 2 of 3, about 37 %"), ``icon`` (a Blender icon name) and ``details`` for the panel.
``snapshot`` is ``GuiWorker.snapshot()`` (keys documented there), or None when not sharing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# engine states (docs/engine.md) -> words, while the GUI worker itself waits for work
_ENGINE_WORDS = {
    "starting": "Starting", "authenticating": "Signing in to the coordinator",
    "recovering": "Reporting the last session's unfinished job",
    "idle": "Waiting for work", "claiming": "Claiming a job", "downloading": "Downloading a job",
    "validating": "Checking a downloaded job", "ready": "A job is about to start",
    "rendering": "Rendering", "uploading": "Uploading a result",
    "submitting": "Handing in a result",
    "backing_off": "Stopped: the coordinator is unreachable, retrying",
    "stopping": "Stopping", "stopped": "Not sharing",
}


@dataclass
class Words:
    headline: str
    icon: str = "RENDER_STILL"
    details: list[str] = field(default_factory=list)
    warning: str = ""


def short_address(address: str, keep: int = 6) -> str:
    """``0x1234abcd…ef01`` style: the first ``keep`` hex digits and the last 4."""
    if not address.startswith("0x") or len(address) <= keep + 8:
        return address
    return f"{address[:2 + keep]}…{address[-4:]}"


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 07 min``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _rendering(s: dict) -> Words:
    frames = f"frame {s['frame_number']} of {s['frame_count']}"
    if s.get("frame_part") is not None:
        progress = f"about {100 * s['job_fraction']:.0f} %"
    else:
        progress = f"{duration(s.get('frame_elapsed_s', 0))} so far"
    return Words(f"Rendering job {s['job_id']} — {frames}, {progress}", "RENDER_STILL")


def describe(snapshot: dict | None) -> Words:
    """The words for ``snapshot`` (see the module doc)."""
    if snapshot is None:
        return Words("Not sharing", "PAUSE")
    s = snapshot
    state = s["state"]
    if state == "rendering":
        words = _rendering(s)
    elif state == "preparing":
        words = Words(f"Preparing job {s['job_id']} (checking its scene)", "TIME")
    elif state == "handing over":
        words = Words(f"Handing in job {s['job_id']}", "EXPORT")
    elif state == "paused":
        words = Words(f"Paused: {s['pause_reason']}", "PAUSE")
    elif state == "stopping":
        words = Words("Stopping: finishing uploads", "CANCEL")
    elif state == "stopped":
        words = Words(f"Stopped: {s['stop_reason']}" if s.get("stop_reason") else
                      "Not sharing", "PAUSE")
    else:  # waiting: the engine's own state says what happens
        engine = s.get("engine_state", "idle")
        words = Words(_ENGINE_WORDS.get(engine, engine.replace("_", " ").capitalize()),
                      "ERROR" if engine == "backing_off" else "SORTTIME")
    if s.get("stop_after_job") and state not in ("stopping", "stopped"):
        words.details.append("Stopping after this job")
    if s.get("device_used"):
        words.details.append(f"Device: {s['device_used']}")
    words.warning = s.get("device_warning", "")
    if s.get("last_error"):
        words.details.append(f"Last problem: {s['last_error']}")
    return words
