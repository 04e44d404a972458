"""The public scenes the tests use (tests/addon/corpus/README.md): files nobody on this project
wrote, taken from packages a registry serves, never copied into git. Each entry records
where the file comes from, its sha256, the frame a render test renders and the outcome a
worker must reach.

- ``debian-blender``: Debian 12's ``blender`` 3.4.1+dfsg-2+b1 (installed by scripts/setup),
  under /usr/share/blender/scripts/.
- ``openshot-qt``: Debian 12's ``openshot-qt`` 2.6.1+dfsg1-3, its Blender title templates
  (saved by Blender 2.56 to 2.82), extracted by scripts/setup (scripts/lib/corpus.sh) into
  $FARMHAND_CACHE/corpus/openshot-qt/.

``expect`` is None for a scene that renders (the worker's frame must equal Blender's own
render of it), else ``(code, fix)``: the failure code (addon/farmhand/failures.py) and a
phrase of the fix its message must name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import blender_cells  # scripts/ (tests/conftest.py puts it on sys.path)

ROOTS = {
    "debian-blender": Path("/usr/share/blender/scripts"),
    "openshot-qt": blender_cells.CACHE / "corpus" / "openshot-qt",
}

NO_CAMERA = ("no_camera", "set one (Scene Properties > Scene > Camera), save and submit again")
MISSING = ("missing_files", "File > External Data > Pack Resources")


@dataclass(frozen=True)
class PublicScene:
    """One public scene: ``source`` (a key of ROOTS), ``path`` under it, ``sha256``, the
    ``frame`` a render test renders, the expected outcome ``expect`` (module doc);
    ``min_psnr_db``: None = the farm's frame must equal Blender's own render pixel for pixel;
    a number = the scene renders slightly differently run to run in the same Blender, so the
    two renders are compared by PSNR (dB, over every channel) instead."""

    source: str
    path: str
    sha256: str
    frame: int = 1
    expect: tuple[str, str] | None = None
    min_psnr_db: float | None = None

    @property
    def file(self) -> Path:
        return ROOTS[self.source] / self.path

    @property
    def name(self) -> str:
        """A short unique name: ``openshot-qt/glare``, ``debian-blender/VFX``."""
        stem = Path(self.path).stem
        if stem == "startup":  # the app templates: name them by their folder
            stem = Path(self.path).parent.name
        return f"{self.source}/{stem}"

    def missing(self) -> str | None:
        """Why the file cannot be used here (absent, or not the recorded bytes), or None."""
        if not self.file.is_file():
            return f"{self.file} is absent (scripts/setup fetches it; corpus/README.md)"
        if hashlib.sha256(self.file.read_bytes()).hexdigest() != self.sha256:
            return f"{self.file} is not the recorded file (sha256 differs; corpus/README.md)"
        return None


_TEMPLATES = "startup/bl_app_templates_system"
SCENES = [
    PublicScene("debian-blender", f"{_TEMPLATES}/2D_Animation/startup.blend",
                "25b8def08a030f267f2b7c7c7baa2182eb62cefd67b509e7861655091ae8e51b"),
    PublicScene("debian-blender", f"{_TEMPLATES}/Sculpting/startup.blend",
                "a6a34aaed752f75b20ddd6c024794634b179fef00abdf5ee1fbad78f70cce2c2",
                expect=NO_CAMERA),
    PublicScene("debian-blender", f"{_TEMPLATES}/VFX/startup.blend",
                "632c50a8858a3893a044818e53572970a6ecf80fd3d33f70fd10c6bf016e7156"),
    PublicScene("debian-blender", f"{_TEMPLATES}/Video_Editing/startup.blend",
                "02b0432069396c8f3fef0d11fe26f980df47b9e0b6fce8955be29310f6244723"),
    PublicScene("debian-blender", "addons/materials_library_vx/sample_materials.blend",
                "bad2b36843daf95f7396bd552939c05849d4e2552378378cdfb3fe203ea4e61c",
                expect=NO_CAMERA),
    PublicScene("debian-blender", "addons/materials_library_vx/templates.blend",
                "4ba7d3617469fb829540153e63a0f358706e75d5011a40cc9a060c1ef8770589",
                expect=NO_CAMERA),
    # OpenShot's animated titles: EEVEE, text, compositor glare/blur, a packed image
    PublicScene("openshot-qt", "neon_curves.blend",
                "cbb72ea571c9a2bdd620d2116ccf4a251d773db69bfb9719d1931c23700ecee5", frame=125),
    # renders differently run to run in Blender 3.4 itself (CI, 2026-12-03: 78 of 5814
    # pixels off by up to 16 between Blender's render and the farm's, PSNR 58.7 dB)
    PublicScene("openshot-qt", "zoom_clapboard.blend",
                "ff53d1acd404a60d235269975812c04449d3fe464178840d10cd27980cdf795f", frame=60,
                min_psnr_db=45.0),
    PublicScene("openshot-qt", "glare.blend",
                "1d26da7d89a5c3f36d1fa4bd9b7711781f95795e0a811108f9116a1c7c5572a7", frame=125),
    # an image beside the .blend in the package (//../earth/world_map.jpg): not in the job
    PublicScene("openshot-qt", "earth.blend",
                "6c8256fd40ea532c819726199530e1cd79c0cf6a88d41f6666b7b9d3c1b4ccbb", frame=50,
                expect=MISSING),
    # four photos on its author's disk (/home/jonathan/Pictures/..., //../../../../Desktop/...)
    PublicScene("openshot-qt", "picture_frames_4.blend",
                "4570946a33bf2c2f3f07b88602f383e29a7dbd98daa8b45bb82096ee274f5b55",
                frame=100, expect=MISSING),
]
