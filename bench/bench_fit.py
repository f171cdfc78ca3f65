"""Photo-fitting quality and speed on held-out synthetic subjects (ground truth known), as JSON.

Each subject is a data-factory head (``head360.synth``: a new identity, skin, hairstyle and a random
sparse expression) rendered frontally with ``head360.gl`` -- a "photo" whose shape code, blendshape
weights and hairstyle are known. Measured:

* landmarks -> mesh: landmark error before/after (pixels), shape error (mm, face vertices, after a
  similarity alignment; against the mean head's as a baseline), blendshape weight errors;
* hairstyle accuracy (the classifier, through the same normalisation and segmentation as a photo);
* with ``--checkpoint`` (a full fit): PSNR of the fitted render against the input inside the face
  region, PSNR against the true side (yaw 90) and back (yaw 180) views (whole image and head region),
  the hair colour's CIEDE2000 difference between the fitted front render and the photo (mean colour
  of the photo's segmented hair, eroded away from its edges), and the seconds per fit.

    python bench/bench_fit.py --subjects 20 --mesh-only
    python bench/bench_fit.py --checkpoint assets/demo.safetensors --subjects 8 --steps 60
    python bench/bench_fit.py --checkpoint assets/demo.safetensors --subjects 6 --inversion side_weight=0.5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXPRESSIONS = (
    "jawOpen", "mouthSmileLeft", "mouthSmileRight", "eyeBlinkLeft", "eyeBlinkRight", "browInnerUp",
    "browDownLeft", "browDownRight", "mouthFunnel", "mouthPucker", "cheekPuff", "mouthFrownLeft",
    "mouthFrownRight", "eyeWideLeft", "eyeWideRight", "mouthLeft", "mouthRight", "noseSneerLeft",
)  # fmt: skip


def linear_mesh_model():
    """A bilinear-model stand-in built straight from the procedural head (identity basis = the 50
    one-sigma fields, blendshapes of the mean identity, no identity-expression interaction): used when
    the fitted Tucker model (``head360.mesh.store``) is not available."""
    import numpy as np

    from head360.mesh.blendshapes import blendshape_deltas
    from head360.mesh.identity import identity_basis
    from head360.mesh.model import MeshModel
    from head360.mesh.template import build_template

    t = build_template()
    return MeshModel(
        mean=t.vertices.astype(np.float32),
        shape_basis=identity_basis(t).astype(np.float32),
        expr_basis=blendshape_deltas(t, t.vertices).astype(np.float32),
        expr_shape_basis=np.zeros((52, 1, len(t.vertices), 3), np.float32),
        faces=t.faces,
        uvs=t.uvs,
        faces_uv=t.faces_uv,
        face_label=t.face_label,
        landmark_vertices=t.landmark_vertices(),
        info={"landmarks": t.landmark_table(), "linear_standin": True},
    )


def similarity_error_mm(a, b) -> float:
    """Mean distance (mm) between point sets [N, 3] after the best similarity transform of a onto b."""
    import numpy as np

    mu_a, mu_b = a.mean(0), b.mean(0)
    x, y = a - mu_a, b - mu_b
    u, s, vt = np.linalg.svd(y.T @ x)
    d = np.eye(3)
    d[2, 2] = np.sign(np.linalg.det(u @ vt))
    r = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / (x**2).sum()
    return float(np.linalg.norm(scale * x @ r.T - y, axis=1).mean() * 100.0)


def fit_config(settings: list[str]):
    """A FitConfig whose inversion settings are changed by "KEY=VALUE" strings (values read as JSON)."""
    import dataclasses

    from head360.fit.pipeline import FitConfig

    cfg = FitConfig()
    known = {f.name for f in dataclasses.fields(cfg.inversion)}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or key not in known:
            raise SystemExit(f"error: --inversion {item!r}: use KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        try:
            parsed = json.loads(value)
        except ValueError:
            raise SystemExit(
                f"error: --inversion {item!r}: the value is not JSON (e.g. 0.5, true, [90, 180])"
            ) from None
        setattr(cfg.inversion, key, tuple(parsed) if isinstance(parsed, list) else parsed)
    return cfg


def hair_delta_e(a, b) -> float:
    """CIEDE2000 difference of the mean colours (averaged in linear light) of two pixel sets [N, 3] uint8."""
    import numpy as np
    from skimage.color import deltaE_ciede2000, rgb2lab

    from head360.synth.appearance import linear_to_srgb, srgb_to_linear

    def mean_lab(pixels):
        srgb = linear_to_srgb(srgb_to_linear(pixels.astype(np.float64) / 255.0).mean(0))
        return rgb2lab(np.clip(srgb, 0, 1)[None, None])[0, 0]

    return float(deltaE_ciede2000(mean_lab(a), mean_lab(b)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--subjects", type=int, default=12)
    p.add_argument("--seed", type=int, default=9090, help="factory seed of the held-out subjects")
    p.add_argument("--checkpoint", default=None, help="a model: also run the full fit (inversion)")
    p.add_argument("--steps", type=int, default=None, help="inversion steps of the full fit")
    p.add_argument("--mesh-only", action="store_true", help="skip the inversion even with a checkpoint")
    p.add_argument("--resolution", type=int, default=512, help="side of the rendered 'photos'")
    p.add_argument("--save", default=None, help="folder for each subject's input / fit strip (PNG)")
    p.add_argument("--inversion", action="append", default=[], metavar="KEY=VALUE",
                   help="an InversionConfig setting of the full fit, e.g. side_weight=0.5 (repeatable)")  # fmt: skip
    args = p.parse_args()
    settings = fit_config(args.inversion)  # bad settings stop here, before any work

    import copy

    import cv2
    import numpy as np

    import head360.gl  # noqa: F401
    from head360.arkit import index_of
    from head360.cameras import Camera
    from head360.fit.hairstyle import DEFAULT_PATH, HairstyleClassifier, choose_style, mask_features
    from head360.fit.landmarks import LandmarkDetector, detect_face
    from head360.fit.meshfit import MeshFitter, landmark_table
    from head360.fit.normalize import normalize_photo
    from head360.fit.segment import segment_photo
    from head360.gl.renderer import MeshRenderer
    from head360.labels import Label
    from head360.mesh.template import Part
    from head360.synth.subject import SubjectAssets, sample_subject

    ckpt = None
    if args.checkpoint:
        from head360.model.checkpoint import load_checkpoint

        ckpt = load_checkpoint(args.checkpoint)
        mesh, mesh_source = ckpt.generator.mesh, "checkpoint"
    else:
        try:
            from head360.mesh.store import default_mesh_model

            mesh, mesh_source = default_mesh_model(), "head360.mesh.store"
        except ImportError:
            mesh, mesh_source = linear_mesh_model(), "linear stand-in (no Tucker fit available)"
    table = landmark_table(mesh)
    fitter = MeshFitter(mesh, table)
    clf = HairstyleClassifier.load(DEFAULT_PATH)
    renderer = MeshRenderer(args.resolution, supersample=2)
    rng = np.random.default_rng(args.seed)
    rows = []
    detector = LandmarkDetector()
    face_vertices = None
    for i in range(args.subjects):
        spec = sample_subject(args.seed, 50000 + i)
        assets = SubjectAssets.build(spec, texture_size=512)
        if face_vertices is None:
            t = assets.template
            front = (t.vertex_part == int(Part.SKIN)) & (t.vertices[:, 2] > 0.2) & (t.vertices[:, 1] > -1.1)
            face_vertices = np.flatnonzero(front)
        truth = np.zeros(52, np.float32)
        for name in rng.choice(EXPRESSIONS, size=rng.integers(1, 3), replace=False):
            truth[index_of(str(name))] = rng.uniform(0.3, 0.9)
        renderer.set_scene(assets.render_meshes(truth, hair=True))
        photo = renderer.render(Camera.orbit(0.0, 0.0), outputs=("rgb",)).rgb
        try:
            found = detect_face(photo, f"subject {i}", detector)
        except Exception as e:  # a failed detection is a result too
            rows.append({"subject": i, "error": str(e)})
            continue
        fit = fitter.fit(found.face.xy, found.face.image_size)
        fitted_neutral = mesh.vertices_np(fit.shape_code, np.zeros(52, np.float32))
        true_neutral = assets.neutral
        shape_mm = similarity_error_mm(fitted_neutral[face_vertices], true_neutral[face_vertices])
        mean_mm = similarity_error_mm(mesh.mean[face_vertices], true_neutral[face_vertices])
        active = truth > 0
        verts = mesh.vertices_np(fit.shape_code, fit.blend_weights)
        norm = normalize_photo(photo, found.face.xy, fit, table.points(verts), 256)
        seg = segment_photo(norm.image, norm.landmarks, norm.valid)
        _, probs = clf.predict(mask_features(seg.hair, seg.person > 0.5, seg.mask(Label.SKIN)))
        style = choose_style(probs, clf.styles) or "none"
        row = {
            "subject": i,
            "hairstyle": spec.hairstyle,
            "predicted_hairstyle": style,
            "landmark_px": [round(fit.error_init_px, 2), round(fit.error_px, 2)],
            "shape_mm": round(shape_mm, 2),
            "mean_head_mm": round(mean_mm, 2),
            "weights_mae": round(float(np.abs(fit.blend_weights - truth).mean()), 4),
            "active_weights": {
                n: [round(float(truth[k]), 2), round(float(fit.blend_weights[k]), 2)]
                for n, k in ((n, index_of(n)) for n in EXPRESSIONS)
                if active[k]
            },  # fmt: skip
            "active_mae": round(float(np.abs(fit.blend_weights - truth)[active].mean()), 3),
            "inactive_mean": round(float(fit.blend_weights[~active].mean()), 4),
        }
        if ckpt is not None and not args.mesh_only:
            from head360.fit.pipeline import fit_photo, psnr

            t0 = time.perf_counter()
            result = fit_photo(photo, ckpt, steps=args.steps, config=copy.deepcopy(settings))
            row["fit_seconds"] = round(time.perf_counter() - t0, 1)
            row["psnr_face_db"] = round(result.psnr_face, 2)
            res = result.images["front"].shape[0]
            renderer_gt = MeshRenderer(res, supersample=2)
            renderer_gt.set_scene(assets.render_meshes(truth, hair=True))
            yaw = result.mesh_fit.view_angles()[0]
            for name, cam in (("side", Camera.orbit(yaw + 90.0, 0.0)), ("back", Camera.orbit(180.0, 0.0))):
                gt = renderer_gt.render(cam, outputs=("rgb", "alpha"))
                head = gt.alpha > 127
                row[f"psnr_{name}_db"] = round(psnr(result.images[name], gt.rgb), 2)
                row[f"psnr_{name}_head_db"] = round(psnr(result.images[name], gt.rgb, head), 2)
            renderer_gt.close()
            row["predicted_hairstyle_fit"] = result.hairstyle or "none"
            hair = cv2.erode((seg.hair & norm.valid).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
            if hair.sum() >= 50 and result.images["front"].shape[:2] == hair.shape:
                row["hair_delta_e"] = round(hair_delta_e(result.images["front"][hair], norm.image[hair]), 2)
                fitted = result.subject.hair_color
                row["hair_color_fit"] = None if fitted is None else [round(c, 3) for c in fitted]
            if args.save:
                from head360.fileio import write_image

                write_image(Path(args.save) / f"subject_{i:02d}.png", result.strip())
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    renderer.close()
    detector.close()

    ok = [r for r in rows if "error" not in r]

    def mean(key):
        vals = [r[key] for r in ok if key in r]
        return round(float(np.mean(vals)), 3) if vals else None

    summary = {
        "subjects": len(rows),
        "detected": len(ok),
        "mesh_model": mesh_source,
        "landmark_table": table.info.get("source", "mesh model"),
        "landmark_error_px_before": round(float(np.mean([r["landmark_px"][0] for r in ok])), 2),
        "landmark_error_px_after": round(float(np.mean([r["landmark_px"][1] for r in ok])), 2),
        "shape_error_mm": mean("shape_mm"),
        "mean_head_error_mm": mean("mean_head_mm"),
        "weights_mae_all52": mean("weights_mae"),
        "weights_mae_active": mean("active_mae"),
        "weights_mean_inactive": mean("inactive_mean"),
        "hairstyle_accuracy": round(float(np.mean([r["predicted_hairstyle"] == r["hairstyle"] for r in ok])), 3),
        "photo_resolution": args.resolution,
    }
    if ckpt is not None and not args.mesh_only:
        summary.update(
            {
                "checkpoint": str(args.checkpoint),
                "trained": bool(ckpt.info.get("trained", True)),
                "psnr_face_db": mean("psnr_face_db"),
                "psnr_side_db": mean("psnr_side_db"),
                "psnr_side_head_db": mean("psnr_side_head_db"),
                "psnr_back_db": mean("psnr_back_db"),
                "psnr_back_head_db": mean("psnr_back_head_db"),
                "hair_delta_e": mean("hair_delta_e"),
                "fit_seconds": mean("fit_seconds"),
                "inversion_settings": args.inversion,
            }
        )
    print(json.dumps({"summary": summary, "subjects": rows}, indent=1))


if __name__ == "__main__":
    main()
