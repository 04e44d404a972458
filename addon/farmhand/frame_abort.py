"""Stop a running frame (``bpy.ops.render.render``) from another thread, headless.

What stops a render, measured in Debian's Blender 3.4 and the bpy 5.0.1 module:

- Blender (the ``blender`` binary) in background mode installs its own C handler for SIGINT
  (``sig_handle_blender_esc``): it sets ``G.is_break``, which the render's test-break callback
  reads; Cycles then cancels at its next sample batch and Blender writes no file. The handler
  also counts SIGINTs and *exits Blender* on the second one (a static counter, never reset),
  so sending SIGINT twice over a worker's life would kill it. The handler only counts when
  called with signal number 2: :class:`FrameAbort` reads the handler's address once
  (``sigaction``, before Python installs its own SIGINT handler) and calls it directly with
  SIGTERM's number, which sets ``G.is_break`` and nothing else. Blender resets
  ``G.is_break`` when the next render starts, so later frames render normally.
- The bpy module installs no such handler (SIGINT is Python's ``KeyboardInterrupt``, raised
  only after the frame has finished), exposes no ``G.is_break`` setter, and holds no exported
  symbol for it: there a frame cannot be stopped midway; it finishes and its result is
  dropped. :attr:`FrameAbort.available` says which case this is.

How long a stop takes is up to the render engine: Cycles checks between sample batches, whose
length it chooses (about a second on an idle machine; much longer on an overloaded one).
"""

from __future__ import annotations

import ctypes
import signal
import sys

from .log import log


class _SigAction(ctypes.Structure):
    """glibc's ``struct sigaction`` on Linux (handler first; the rest is only room)."""

    _fields_ = [("handler", ctypes.c_void_p), ("mask", ctypes.c_ulong * 16),
                ("flags", ctypes.c_int), ("restorer", ctypes.c_void_p)]


_SA_SIGINFO = 4


def _blender_break_handler():
    """Blender's C SIGINT handler as a callable, or None (not Linux, Python owns SIGINT, or
    no handler)."""
    if sys.platform != "linux" or signal.getsignal(signal.SIGINT) is not None:
        return None  # getsignal() is None only for a handler installed from C (Blender's)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        current = _SigAction()
        if libc.sigaction(signal.SIGINT, None, ctypes.byref(current)) != 0:
            return None
    except (OSError, AttributeError):
        return None
    if current.handler in (None, 0, 1) or current.flags & _SA_SIGINFO:
        return None  # SIG_DFL, SIG_IGN, or a three-argument handler we must not call
    return ctypes.CFUNCTYPE(None, ctypes.c_int)(current.handler)


class FrameAbort:
    """Create it before Python takes over SIGINT (``signal.signal``). ``stop()`` asks the
    running render to stop (thread-safe, idempotent per frame); a no-op where
    ``available`` is False."""

    def __init__(self):
        self._break = _blender_break_handler()

    @property
    def available(self) -> bool:
        return self._break is not None

    def stop(self, why: str) -> bool:
        """Set Blender's break flag; returns True when a stop was requested."""
        if self._break is None:
            log.warning("cannot stop the running frame in this Blender (%s); it finishes "
                        "first and its result is dropped", why)
            return False
        log.info("stopping the running frame now: %s", why)
        self._break(int(signal.SIGTERM))  # number != SIGINT: sets G.is_break, no exit
        return True
