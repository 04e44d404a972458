"""farmhand.frame_watch without a render: the watcher asks for a stop within a poll or two
of a lost lease, a second signal or a spent frame budget, and turns the stopped frame into
the right outcome; signals are counted by their own thread while the main thread is busy.
(The stop itself, in Debian's Blender, is tests/e2e/test_frame_abort.py.)"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from blender_runner import ADDON_PARENT

sys.path.insert(0, str(ADDON_PARENT))
from farmhand.frame_watch import FrameWatch, SignalReader  # noqa: E402  (imports bpy)
from farmhand.render import RenderFailed, RenderResult  # noqa: E402


class Engine:
    def __init__(self):
        self.cancelled = False

    def job_cancelled(self, _job):
        return self.cancelled


class Aborter:
    def __init__(self):
        self.stopped = threading.Event()
        self.why = None

    def stop(self, why):
        self.why = why
        self.stopped.set()
        return True


class Job:
    id = "7"


class Stop:
    signal = None
    count = 0


def _endless_frame(aborter):
    """A 'render' that runs until stopped, then behaves like Blender: no file written."""
    def strategy(job, device, on_frame=None, should_stop=None):
        assert aborter.stopped.wait(10), "never stopped"
        raise RenderFailed("frame 1: Blender reported success but frame_0001.png was not written")
    return strategy


def _run(watch, aborter):
    out = {}

    def target():
        try:
            out["result"] = watch.wrap(_endless_frame(aborter))(Job(), "CPU")
        except RenderFailed as exc:
            out["error"] = exc
    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def test_a_lost_lease_stops_the_frame_within_half_a_second_and_drops_the_result():
    engine, aborter = Engine(), Aborter()
    with FrameWatch(engine, Job(), Stop(), aborter, budget_s=0) as watch:
        thread, out = _run(watch, aborter)
        time.sleep(0.6)
        assert not aborter.stopped.is_set()
        lost = time.monotonic()
        engine.cancelled = True
        assert aborter.stopped.wait(2)
        assert time.monotonic() - lost < 0.6  # polled every 0.25 s
        thread.join(5)
    assert "lease was lost" in aborter.why
    assert isinstance(out["result"], RenderResult) and out["result"].interrupted


def test_a_second_signal_stops_the_frame_and_the_job_is_handed_back():
    stop, aborter = Stop(), Aborter()
    with FrameWatch(Engine(), Job(), stop, aborter, budget_s=0) as watch:
        thread, out = _run(watch, aborter)
        stop.signal, stop.count = "SIGTERM", 1
        time.sleep(0.6)
        assert not aborter.stopped.is_set()  # the first signal waits for the frame
        stop.count = 2
        assert aborter.stopped.wait(2)
        thread.join(5)
    assert out["result"].interrupted


def test_a_frame_past_its_budget_fails_too_slow_for_this_worker():
    aborter = Aborter()
    with FrameWatch(Engine(), Job(), Stop(), aborter, budget_s=0.5) as watch:
        thread, out = _run(watch, aborter)
        thread.join(5)
    assert "too slow for this worker" in str(out["error"])
    assert out["error"].code == "too_slow"  # not render_error (docs/protocol.md)
    assert "0.5 s" in str(out["error"])


def test_a_render_failure_of_its_own_is_not_masked():
    aborter = Aborter()

    def broken(job, device, on_frame=None, should_stop=None):
        raise RenderFailed("CUDA out of memory")
    with FrameWatch(Engine(), Job(), Stop(), aborter, budget_s=0) as watch:
        with pytest.raises(RenderFailed, match="CUDA out of memory"):
            watch.wrap(broken)(Job(), "CPU")
    assert not aborter.stopped.is_set()


def test_signals_are_counted_by_the_reader_thread_while_the_main_thread_is_busy():
    seen = []

    class Flag:
        def note(self, signum):
            seen.append(signum)
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    reader = SignalReader(Flag())
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 2
        while not seen and time.monotonic() < deadline:
            sum(range(10000))  # busy, as a render keeps the main thread
        assert seen == [signal.SIGTERM]
    finally:
        reader.close()
        signal.signal(signal.SIGTERM, previous)


class NoBreakAborter(Aborter):
    """The bpy module's case: no break flag, stop() asks nothing of the render."""
    available = False

    def stop(self, why):
        self.why = why
        return False


def _stuck_recorder():
    calls = []
    called = threading.Event()

    def on_stuck(reason, why):
        calls.append((reason, why, time.monotonic()))
        called.set()
    return calls, called, on_stuck


def test_without_a_break_flag_a_lost_lease_ends_the_process_at_once():
    engine, aborter = Engine(), NoBreakAborter()
    calls, called, on_stuck = _stuck_recorder()
    with FrameWatch(engine, Job(), Stop(), aborter, budget_s=0, on_stuck=on_stuck) as watch:
        assert watch.grace_s == 0
        out = {}

        def endless(job, device, on_frame=None, should_stop=None):
            assert called.wait(10), "on_stuck never called"
            raise RenderFailed("the process would have ended here")
        thread = threading.Thread(target=lambda: out.setdefault(
            "result", watch.wrap(endless)(Job(), "CPU")))
        thread.start()
        time.sleep(0.6)
        assert not called.is_set()
        lost = time.monotonic()
        engine.cancelled = True
        assert called.wait(2)
        thread.join(5)
    assert [(r, w) for r, w, _ in calls] == [("lease", "its lease was lost")]
    assert calls[0][2] - lost < 0.6  # the same poll that saw the lost lease
    assert out["result"].interrupted


def test_with_a_break_flag_the_process_ends_only_after_the_grace_period():
    engine, aborter = Engine(), Aborter()  # stop() "succeeds" but the frame goes on
    calls, called, on_stuck = _stuck_recorder()
    with FrameWatch(engine, Job(), Stop(), aborter, budget_s=0, on_stuck=on_stuck,
                    grace_s=1.0) as watch:
        def deaf(job, device, on_frame=None, should_stop=None):
            assert called.wait(10), "on_stuck never called"
            return RenderResult()
        thread = threading.Thread(target=lambda: watch.wrap(deaf)(Job(), "CPU"))
        thread.start()
        engine.cancelled = True
        assert aborter.stopped.wait(2)
        asked = time.monotonic()
        assert called.wait(5)
        thread.join(5)
    waited = calls[0][2] - asked
    assert 0.9 <= waited < 1.6, waited
    assert len(calls) == 1


def test_a_frame_that_stops_within_the_grace_period_keeps_the_process():
    engine, aborter = Engine(), Aborter()
    calls, _called, on_stuck = _stuck_recorder()
    with FrameWatch(engine, Job(), Stop(), aborter, budget_s=0, on_stuck=on_stuck,
                    grace_s=1.0) as watch:
        thread, out = _run(watch, aborter)  # stops as soon as asked, like Cycles idle
        engine.cancelled = True
        thread.join(5)
        time.sleep(1.5)  # past the grace period, the watcher still running
    assert out["result"].interrupted
    assert calls == []


class RecordingEngine(Engine):
    def __init__(self):
        super().__init__()
        self.calls = []

    def release(self, job, reason):
        self.calls.append(("release", job.id, reason))

    def fail(self, job, error, log_tail="", retryable=True, code=""):
        self.calls.append(("fail", job.id, error, retryable, code))

    def stop(self, graceful=True, timeout_s=30.0):
        self.calls.append(("stop", graceful, timeout_s))


class WorkJob(Job):
    work_dir = "/nonexistent/work/job-7"


@pytest.mark.parametrize("reason, code, reported", [
    ("lease", 6, []),
    ("signal", 0, ["release"]),
    ("budget", 6, ["fail"]),
])
def test_ending_the_process_hands_the_job_over_then_stops_the_engine(reason, code, reported):
    from farmhand.headless import EXIT_CODES, END_STOP_TIMEOUT_S, end_process
    engine, exits = RecordingEngine(), []
    end_process(engine, WorkJob(), reason, "why", budget_s=2.5, exit=exits.append)
    assert exits == [code] and code in EXIT_CODES
    assert [c[0] for c in engine.calls] == reported + ["stop"]
    assert engine.calls[-1] == ("stop", True, END_STOP_TIMEOUT_S[reason])
    if reason == "budget":
        _, job_id, error, retryable, fail_code = engine.calls[0]
        assert job_id == "7" and retryable and fail_code == "too_slow"
        assert "too slow for this worker" in error and "2.5 s" in error
    if reason == "signal":
        assert "second signal" in engine.calls[0][2]
