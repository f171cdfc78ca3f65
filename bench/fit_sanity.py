"""Sanity check of the generator's trainability and conventions: fit one head to OpenGL renders of a
mesh model's mean head (36 views), then save a side-by-side image (GL target | rgb | raw, four yaws)
and the fitted checkpoint. Prints the loss as it goes.

    python bench/fit_sanity.py --mesh-model M [--preset demo] [--steps 300] [--out out/fit_sanity]

On the 2-core CPU, 300 steps of the demo preset take about 12 minutes with one thread; the
silhouettes of all views line up with the targets after ~100 steps (docs/fit_sanity.png).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import head360.gl  # noqa: E402, F401  (chooses the EGL platform before OpenGL is imported)


def main() -> int:
    import torch
    import torch.nn.functional as F

    from head360.cameras import Camera
    from head360.fileio import write_image
    from head360.gl.renderer import MeshRenderer, RenderMesh
    from head360.mesh.model import MeshModel
    from head360.model.checkpoint import SubjectCodes, save_checkpoint
    from head360.model.config import RenderQuality, make_config
    from head360.model.generator import Head360Generator, to_uint8

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mesh-model", required=True)
    p.add_argument("--preset", default="demo")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="out/fit_sanity")
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    mm = MeshModel.load(args.mesh_model)
    cfg = make_config(args.preset)
    train_q = RenderQuality(cfg.renderer.qualities["full"].neural_resolution // 2, 16, 8, True, False)
    g = Head360Generator(cfg, mm)
    renderer = MeshRenderer(cfg.image_resolution, background=(1, 1, 1))
    renderer.set_scene([RenderMesh(mm.vertices_np(), mm.faces, face_label=mm.face_label, material="skin")])
    views = [(y, pitch) for y in range(0, 360, 30) for pitch in (-15, 0, 15)]
    labels = torch.tensor([Camera.orbit(y, pitch).label() for y, pitch in views], dtype=torch.float32)

    def target(y, pitch):
        return torch.tensor(renderer.render(Camera.orbit(y, pitch)).rgb).permute(2, 0, 1).float() / 255

    targets = torch.stack([target(y, pitch) for y, pitch in views])
    t, s, b = torch.randn(1, cfg.texture.code_dim), torch.zeros(1, 50), torch.zeros(1, 52)
    opt = torch.optim.Adam(g.parameters(), lr=2e-3, betas=(0.0, 0.99))
    g.train()
    start = time.time()
    for step in range(args.steps):
        idx = torch.randint(0, len(views), (2,))
        out = g(t.expand(2, -1), s.expand(2, -1), b.expand(2, -1), labels[idx], quality=train_q)
        raw_target = F.interpolate(targets[idx], size=out["raw"].shape[-2:], mode="area")
        loss = (out["rgb"] - targets[idx]).abs().mean() + (out["raw"] - raw_target).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.4f} {time.time() - start:.0f} s", flush=True)
    g.eval()
    rows = []
    with torch.no_grad():
        planes = g.planes(t, s, b, None)
        for y in (0, 90, 180, 270):
            out = g.render(planes, torch.tensor([Camera.orbit(y, 0).label()]))
            tg = target(y, 0)
            raw = F.interpolate(out["raw"], size=tg.shape[-2:])[0]
            rows.append(np.concatenate([to_uint8(tg), to_uint8(out["rgb"][0]), to_uint8(raw)], 1))
    write_image(f"{args.out}.png", np.concatenate(rows, 0))
    subjects = [SubjectCodes("fitted", t[0].numpy(), s[0].numpy(), None)]
    save_checkpoint(f"{args.out}.safetensors", g, subjects, info={"trained": True, "note": "fit_sanity"})
    print(f"wrote {args.out}.png and {args.out}.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
