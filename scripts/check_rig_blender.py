"""Open an exported rig (``main.py export-rig``) in Blender and check what an artist would see.

    python scripts/check_rig_blender.py --checkpoint assets/demo.safetensors [--glb G.glb] [--render OUT.png]

Without ``--glb`` the rig is exported first (to a temporary file). Blender (Debian's ``blender``
package, run as ``blender -b --python-expr``) imports the GLB; the check prints one JSON report and
exits non-zero when any of these fail:

* the head object has 52 shape keys named exactly as ARKit names them (besides the basis);
* its material's base colour reads an image texture (the baked one, >= 1024 texels a side);
* setting ``jawOpen`` to 1 moves the vertices by what the bilinear model says (largest displacement and
  the displacement of the vertex that moves most, against ``V(s, jawOpen=1) - V(s, 0)`` in metres);
* the vertex count is the rig's, and a hair object is there when the rig has hair.

``--render OUT.png``: three Cycles renders (front three-quarter neutral, the same with ``jawOpen`` 0.7
and ``mouthSmileLeft/Right`` 0.8, back three-quarter) side by side: the picture in the README.
Blender is not installed by ``make test`` (about 170 Debian packages); install it by hand
(``apt-get install blender``) to run this.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BLENDER_CODE = r"""
import bpy, json, sys, math
import numpy
if not hasattr(numpy, "bool"):  # Debian's Blender 3.4 importer uses np.bool, gone since numpy 1.24
    numpy.bool = bool
args = json.loads(sys.argv[sys.argv.index("--") + 1])
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=args["glb"])
report = {"objects": sorted(o.name for o in bpy.data.objects)}
head = next(o for o in bpy.data.objects if o.type == "MESH" and o.data.shape_keys is not None)
keys = head.data.shape_keys.key_blocks
report["head_object"] = head.name
report["vertices"] = len(head.data.vertices)
report["shape_keys"] = [k.name for k in keys][1:]
report["basis"] = keys[0].name
basis = [v.co.copy() for v in keys[0].data]
report["actions"] = [a.name for a in bpy.data.actions]
for owner in [head.data.shape_keys] + list(bpy.data.objects):  # a take's action would override the keys set below
    owner.animation_data_clear()
for obj in bpy.data.objects:  # the rest pose (the head's joint unrotated)
    if obj.type == "ARMATURE":
        for bone in obj.pose.bones:
            bone.matrix_basis.identity()
report["armatures"] = [o.name for o in bpy.data.objects if o.type == "ARMATURE"]
for k in keys[1:]:
    k.value = 0.0
keys["jawOpen"].value = 1.0
deps = bpy.context.evaluated_depsgraph_get()
evaluated = head.evaluated_get(deps).to_mesh()
moved = [v.co - b for v, b in zip(evaluated.vertices, basis)]
head.evaluated_get(deps).to_mesh_clear()
keys["jawOpen"].value = 0.0
top = max(range(len(moved)), key=lambda i: moved[i].length)
report["jaw_max_displacement_m"] = moved[top].length
report["jaw_key_max_displacement_m"] = max((v.co - b).length for v, b in zip(keys["jawOpen"].data, basis))
report["jaw_top_vertex_blender"] = list(basis[top])
report["jaw_top_vertex_move_blender"] = list(moved[top])
images = []
for slot in head.material_slots:
    mat = slot.material
    if mat is None or not mat.use_nodes:
        continue
    for node in mat.node_tree.nodes:
        if node.type == "TEX_IMAGE" and node.image is not None:
            images.append({"material": mat.name, "image": node.image.name, "size": list(node.image.size),
                           "linked_to": [l.to_socket.name for l in node.outputs["Color"].links]})
report["textures"] = images
report["materials"] = [s.material.name for s in head.material_slots if s.material]
hair = [o for o in bpy.data.objects if o.type == "MESH" and o.name.lower().startswith("hair")]
report["hair_vertices"] = len(hair[0].data.vertices) if hair else 0

if args.get("render"):
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = args.get("samples", 24)
    scene.cycles.use_denoising = False
    scene.render.resolution_x = scene.render.resolution_y = args.get("size", 480)
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    world = bpy.data.worlds.new("studio")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs[0].default_value = (0.55, 0.57, 0.6, 1.0)
    world.node_tree.nodes["Background"].inputs[1].default_value = 1.2
    scene.world = world
    sun = bpy.data.objects.new("key", bpy.data.lights.new("key", "SUN"))
    sun.data.energy = 2.5
    sun.rotation_euler = (math.radians(50), 0.0, math.radians(-30))
    scene.collection.objects.link(sun)
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    cam.data.lens = 85
    scene.collection.objects.link(cam)
    scene.camera = cam
    target = bpy.data.objects.new("target", None)
    target.location = (0.0, 0.0, 0.01)
    scene.collection.objects.link(target)
    track = cam.constraints.new("TRACK_TO")
    track.target = target
    track.track_axis = "TRACK_NEGATIVE_Z"
    track.up_axis = "UP_Y"
    outputs = []
    for i, (yaw, weights) in enumerate(args["views"]):
        for k in keys[1:]:
            k.value = weights.get(k.name, 0.0)
        a = math.radians(yaw)
        d = args.get("distance", 0.72)
        cam.location = (d * math.sin(a), -d * math.cos(a), 0.06)
        scene.render.filepath = args["render"] + f".{i}.png"
        bpy.ops.render.render(write_still=True)
        outputs.append(scene.render.filepath)
    report["renders"] = outputs
print("RIGCHECK " + json.dumps(report))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default="assets/demo.safetensors")
    ap.add_argument("--subject", default=None)
    ap.add_argument("--glb", default=None, help="rig to check (default: export one from --checkpoint)")
    ap.add_argument("--render", default=None, help="also render the rig to this PNG")
    ap.add_argument("--size", type=int, default=480, help="pixels a side of each rendered view")
    ap.add_argument("--samples", type=int, default=24, help="Cycles samples per pixel")
    ap.add_argument("--blender", default="blender")
    args = ap.parse_args()

    import numpy as np

    from head360.arkit import ARKIT_NAMES, INDEX
    from head360.cameras import METRES_PER_UNIT
    from head360.export.rig import RigConfig, export_rig
    from head360.model.checkpoint import load_checkpoint, resolve_subject

    if shutil.which(args.blender) is None:
        print(f"'{args.blender}' not found: install Blender (apt-get install blender)", file=sys.stderr)
        return 2
    ckpt = load_checkpoint(args.checkpoint)
    subject = resolve_subject(ckpt, args.subject)
    mesh = ckpt.generator.mesh
    with tempfile.TemporaryDirectory() as tmp:
        glb = Path(args.glb) if args.glb else Path(tmp) / "rig.glb"
        rig = None
        if args.glb is None:
            rig = export_rig(ckpt.generator, subject, glb, weights=np.zeros(52, np.float32), config=RigConfig())
        jaw = np.zeros(52, np.float32)
        jaw[INDEX["jawOpen"]] = 1.0
        moved = mesh.vertices_np(subject.shape_code, jaw) - mesh.vertices_np(subject.shape_code, None)
        moved = moved * METRES_PER_UNIT
        expected = float(np.linalg.norm(moved, axis=1).max())
        views = [
            (-30.0, {}),
            (-30.0, {"jawOpen": 0.7, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}),
            (150.0, {}),
        ]
        payload = {"glb": str(glb.resolve()), "views": views, "size": args.size, "samples": args.samples}
        if args.render:
            payload["render"] = str(Path(tmp) / "view")
        cmd = [args.blender, "-b", "--factory-startup", "--python-exit-code", "1", "--python-expr", BLENDER_CODE,
               "--", json.dumps(payload)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RIGCHECK ")), None)
        if proc.returncode != 0 or line is None:
            print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n", file=sys.stderr)
            print("Blender failed to import the rig", file=sys.stderr)
            return 1
        report = json.loads(line[len("RIGCHECK ") :])
        if args.render:
            from PIL import Image

            tiles = [Image.open(p).convert("RGB") for p in report["renders"]]
            sheet = Image.new("RGB", (sum(t.width for t in tiles), tiles[0].height))
            x = 0
            for t in tiles:
                sheet.paste(t, (x, 0))
                x += t.width
            Path(args.render).parent.mkdir(parents=True, exist_ok=True)
            sheet.save(args.render)
            report["renders"] = [args.render]
    textured = [t for t in report["textures"] if t["size"][0] >= 1024 and "Base Color" in t["linked_to"]]
    checks = {
        "52 ARKit shape keys": report["shape_keys"] == list(ARKIT_NAMES),
        "texture on the material": bool(textured),
        "jawOpen = 1 moves as V(s, b) says": abs(report["jaw_max_displacement_m"] - expected) <= 1e-5 + 1e-3 * expected,
    }
    if rig is not None:
        checks["vertex count"] = report["vertices"] == rig.num_vertices
        checks["hair object"] = (report["hair_vertices"] > 0) == (rig.hair is not None)
    report["expected_jaw_max_displacement_m"] = expected
    report["checks"] = checks
    names = report.pop("shape_keys")
    report["shape_keys"] = f"{len(names)}: {', '.join(names[:3])}, ..., {names[-1]}" if names else "none"
    for t in report["textures"]:
        t["size"] = "x".join(str(x) for x in t["size"])
    print(json.dumps(report, indent=1))
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
