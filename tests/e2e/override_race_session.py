"""Runs inside Debian's Blender 3.4 *with a window* (under Xvfb), for
tests/e2e/test_gui_override_race.py: a helper thread runs Python (it builds strings, as any
Python thread does) while the main thread calls an operator again and again, either

- ``turn``: in a modal operator's turn (a 0 s window timer), where the window is Blender's own
  context -- as the GUI worker starts its frames (GuiWorker.window_turn); or
- ``override``: from a ``bpy.app.timers`` callback under ``temp_override(window, screen)``.

    blender --factory-startup --python override_race_session.py -- MODE CALLS

Prints ``CALLS n`` every 200 calls and ``DONE n`` before it quits Blender.
"""

import sys
import threading

import bpy

MODE = sys.argv[sys.argv.index("--") + 1]
CALLS = int(sys.argv[sys.argv.index("--") + 2])
BATCH = 20
sys.setswitchinterval(0.00005)  # the helper and the main thread take turns often
count = [0]


def helper():
    while True:
        [("visible_base%d" % i) for i in range(100)]  # noqa: B018 -- strings, as lookups make


def window():
    return bpy.context.window_manager.windows[0]


def calls() -> bool:
    """BATCH operator calls (each looks up its context: ``visible_bases``); True when done."""
    for _ in range(BATCH):
        bpy.ops.object.select_all(action="TOGGLE")
    count[0] += BATCH
    if count[0] % 200 == 0:
        print("CALLS", count[0], flush=True)
    if count[0] >= CALLS:
        print("DONE", count[0], flush=True)
        bpy.ops.wm.quit_blender()
        return True
    return False


def overridden():
    with bpy.context.temp_override(window=window(), screen=window().screen):
        return None if calls() else 0.0


class TEST_OT_turns(bpy.types.Operator):
    bl_idname = "test.turns"
    bl_label = "Operator calls in a modal turn"

    def invoke(self, context, _event):
        context.window_manager.modal_handler_add(self)
        context.window_manager.event_timer_add(0.0, window=context.window)
        return {"RUNNING_MODAL"}

    def modal(self, _context, event):
        if event.type == "TIMER" and calls():
            return {"FINISHED"}
        return {"PASS_THROUGH"}


def start():
    threading.Thread(target=helper, daemon=True).start()
    if MODE == "override":
        bpy.app.timers.register(overridden, first_interval=0.0)
    else:  # the modal operator itself is started before any call, so no race here
        with bpy.context.temp_override(window=window(), screen=window().screen):
            bpy.ops.test.turns("INVOKE_DEFAULT")


bpy.utils.register_class(TEST_OT_turns)
bpy.app.timers.register(start, first_interval=1.0)
