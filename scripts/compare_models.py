"""Side-by-side sheet of models against the data factory's truth: rows are (expression, view) of one
training subject, columns the ground truth and each checkpoint's render of the same camera.

    python scripts/compare_models.py --data DIR --checkpoints A.safetensors,B.safetensors --labels old,new
        [--subject s000] [--expressions neutral,jawOpen,eyeBlinkLeft,mouthSmileLeft] [--views 47,29]
        [--hair] [--out docs/cpu_recipe_comparison.png]

Views are rig views (default 47 = yaw 345 and 29 = yaw 75 at pitch 0, both held out from training);
images with hair unless ``--bald``. Each checkpoint renders the subject with its own texture code (the
subject must be in its subject table), the dataset's shape code and the expression's weights.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import cv2
    import numpy as np
    import torch

    from head360.data.dataset import HeadDataset
    from head360.errors import Head360Error
    from head360.fileio import write_image
    from head360.model.checkpoint import load_checkpoint
    from head360.model.generator import to_uint8

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--checkpoints", required=True, help="comma-separated checkpoints")
    p.add_argument("--labels", default=None, help="comma-separated column titles (default: file names)")
    p.add_argument("--subject", default="s000")
    p.add_argument("--expressions", default="neutral,jawOpen,eyeBlinkLeft,mouthSmileLeft")
    p.add_argument("--views", default="47,29")
    p.add_argument("--bald", action="store_true", help="bald images instead of images with hair")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--out", default="docs/cpu_recipe_comparison.png")
    args = p.parse_args()
    torch.set_num_threads(1)
    paths = args.checkpoints.split(",")
    labels = args.labels.split(",") if args.labels else [Path(x).stem for x in paths]
    expressions = args.expressions.split(",")
    views = [int(v) for v in args.views.split(",")]
    ds = HeadDataset(args.data, hair=not args.bald, subjects=[args.subject], expressions=expressions, views=views)
    by_key = {(r["expression"], int(r["view"])): i for i, r in enumerate(ds.records)}
    size = args.size

    def tile(img: np.ndarray) -> np.ndarray:
        return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)

    columns = [[] for _ in range(len(paths) + 1)]
    row_names = []
    for expr in expressions:
        for view in views:
            if (expr, view) not in by_key:
                raise Head360Error(f"'{args.data}' has no image of {args.subject} / {expr} / view {view}")
            sample = ds[by_key[(expr, view)]]
            columns[0].append(tile(to_uint8(sample["image"])))
            row_names.append(f"{expr} yaw {sample['yaw']:.0f}")
    for k, path in enumerate(paths):
        ckpt = load_checkpoint(path)
        g = ckpt.generator.eval()
        names = [s.name for s in ckpt.subjects]
        if args.subject not in names:
            raise Head360Error(f"'{path}' never trained on {args.subject} (it knows {', '.join(names)})")
        code = torch.as_tensor(ckpt.subjects[names.index(args.subject)].texture_code)[None]
        style = ds.hairstyles[ds[0]["hairstyle"]]
        style = style if style in g.hairstyles else None
        for expr in expressions:
            for view in views:
                sample = ds[by_key[(expr, view)]]
                with torch.no_grad():
                    planes = g.planes(code, sample["shape"][None], sample["weights"][None], style)
                    rgb = g.render(planes, sample["camera"][None], quality="full")["rgb"][0]
                columns[k + 1].append(tile(to_uint8(rgb)))
    titles = ["truth", *labels]
    head = 28
    sheet = np.full((head + len(row_names) * size, 150 + len(titles) * size, 3), 255, np.uint8)
    for c, title in enumerate(titles):
        cv2.putText(sheet, title, (150 + c * size + 8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        for r, img in enumerate(columns[c]):
            sheet[head + r * size : head + (r + 1) * size, 150 + c * size : 150 + (c + 1) * size] = img
    for r, name in enumerate(row_names):
        y = head + r * size + size // 2
        cv2.putText(sheet, name, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    write_image(args.out, sheet)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
