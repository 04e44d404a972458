"""Farmhand: share your GPU as a render-farm worker, from Blender.

GUI: Preferences > Add-ons > Farmhand, tick *Share my GPU*. Headless:

    blender -b --python-expr "import farmhand; farmhand.run_headless()" -- [options]

(see docs/addon.md for the options, environment variables and exit codes).
"""

bl_info = {
    "name": "Farmhand",
    "author": "Farmhand developers",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "Preferences > Add-ons > Farmhand; Properties > Render > Farmhand",
    "description": "Share my GPU: render jobs from a decentralised render farm",
    "doc_url": "",
    "category": "Render",
}


def run_headless(argv=None):
    """Run the blocking headless worker loop; exits the process (see headless.py)."""
    from .headless import main

    return main(argv)


def register():
    from . import farm_submit_ui, ui

    ui.register()
    farm_submit_ui.register()


def unregister():
    from . import farm_submit_ui, ui

    farm_submit_ui.unregister()
    ui.unregister()
