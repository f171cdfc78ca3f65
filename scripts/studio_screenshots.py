#!/usr/bin/env python3
"""Screenshots of the studio for the docs (docs/studio-*.png), taken under a private Xvfb display.

    python scripts/studio_screenshots.py --checkpoint C [--run RUN] [--photo P] [--size 1280x800] [--out docs]

Opens the studio on C, orbits to a three-quarter view, sets a few blendshapes, then captures the
Expression, Identity, Hair, Export, Fit and Train tabs (Train follows RUN, a training run folder, when
given). Needs Xvfb and ImageMagick's `import`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def driver_factory(out: Path, prefix: str, run: Path | None, photo: Path | None):
    def shot(name: str) -> None:
        subprocess.run(["import", "-window", "root", str(out / f"{prefix}{name}.png")], check=True, timeout=60)

    def settle(studio, timeout: float = 300.0):
        end = time.time() + timeout
        yield
        while not (studio.settled and studio.last_result is not None):
            if time.time() > end:
                raise TimeoutError("the studio did not finish rendering")
            yield
        for _ in range(20):  # let the readouts refresh
            yield

    def drive(studio):
        import dearpygui.dearpygui as dpg

        yield from settle(studio)
        studio.view.yaw, studio.view.pitch = 330.0, 8.0
        studio.set_blend_weights({"jawOpen": 0.35, "mouthSmileLeft": 0.5, "mouthSmileRight": 0.5})
        studio.blendshapes.on_head_changed()
        yield from settle(studio)
        end = time.time() + 300
        while studio.hair.thumbnails_done < len(studio.hair._styles) and time.time() < end:
            yield
        shot("viewport")
        studio.show_tab("Identity")
        yield from settle(studio)
        shot("identity")
        studio.show_tab("Hair")
        yield from settle(studio)
        shot("hair")
        studio.show_tab("Export")
        yield from settle(studio)
        shot("export")
        studio.show_tab("Expression")
        studio.set_mode("mesh")
        yield from settle(studio)
        shot("mesh")
        studio.set_mode("rgb")
        yield from settle(studio)
        if run is not None:
            dpg.set_value("train_run", str(run))
            studio.train._on_follow()
        studio.show_tab("Train")
        for _ in range(90):
            yield
        shot("train")
        if photo is not None:
            studio.open_path(photo)
        studio.show_tab("Fit")
        yield from settle(studio)
        shot("fit")
        if photo is not None:
            studio.fit._on_fit()  # the default number of steps, as a user clicking Fit
            end = time.time() + 900
            while studio.fit.job is not None and not studio.fit.job.done and time.time() < end:
                yield
            yield from settle(studio)
            shot("fit-result")

    return drive


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--run", type=Path, default=None, help="a training run folder for the Train tab")
    p.add_argument("--photo", type=Path, default=None, help="a photo for the Fit tab")
    p.add_argument("--size", default="1280x800")
    p.add_argument("--out", type=Path, default=REPO / "docs")
    p.add_argument("--prefix", default="studio-")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    width, height = (int(x) for x in args.size.lower().split("x"))
    if args.child:
        sys.path.insert(0, str(REPO))
        from app.studio import StudioOptions, run_studio

        args.out.mkdir(parents=True, exist_ok=True)
        drive = driver_factory(args.out, args.prefix, args.run, args.photo)
        options = StudioOptions(
            checkpoint=args.checkpoint, width=width, height=height, driver=drive, export_dir=args.out / "exports"
        )
        return run_studio(options)
    for tool in ("Xvfb", "import"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            return 1
    n = next(i for i in range(150, 400) if not Path(f"/tmp/.X{i}-lock").exists())
    xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"])
    try:
        time.sleep(1.0)
        env = dict(os.environ, DISPLAY=f":{n}", PYTHONPATH=str(REPO))
        child = [sys.executable, __file__, "--child", *(sys.argv[1:] if argv is None else argv)]
        return subprocess.call(child, env=env)
    finally:
        xvfb.terminate()
        xvfb.wait(10)


if __name__ == "__main__":
    sys.exit(main())
