"""docs/fit_astronaut.png: the photo fit of ``skimage.data.astronaut()`` as one strip
(photo | segmentation | reference | fitted front | side | back), plus the fit's JSON summary.

    python scripts/fit_figure.py [--checkpoint MODEL] [--steps N] [--out docs/fit_astronaut.png]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", default=None, help="default: the bundled demo model")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--out", default="docs/fit_astronaut.png")
    args = p.parse_args()

    import numpy as np
    from skimage import data

    from head360.assets import checkpoint_or_bundled
    from head360.fileio import write_image
    from head360.fit.pipeline import fit_photo

    ckpt = checkpoint_or_bundled(args.checkpoint)
    result = fit_photo(data.astronaut(), ckpt, steps=args.steps, log=lambda m: print(m, file=sys.stderr))
    names = ("photo", "segmentation", "reference", "front", "side", "back")
    write_image(args.out, np.concatenate([result.images[k] for k in names], axis=1))
    print(json.dumps({"checkpoint": str(ckpt), "panels": names, **result.summary()}, indent=1))


if __name__ == "__main__":
    main()
