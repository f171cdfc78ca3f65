"""Command-line subcommands. Each module here defines ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``; ``main.py`` builds the parser from :data:`COMMANDS` and imports a command's
module only when it runs, so ``python main.py --help`` stays fast."""

# (module name, command name, one-line help) in the order `python main.py` lists them.
COMMANDS: list[tuple[str, str, str]] = [
    ("head360.cli.studio", "studio", "open the desktop studio (the default without a command)"),
    ("head360.cli.synth", "synth", "generate (or import) a multi-view full-head dataset"),
    ("head360.cli.blendshapes", "blendshapes", "list the 52 ARKit blendshape names"),
    ("head360.cli.train", "train", "train the generator (stages 1-3; resumable; torchrun for several GPUs)"),
    ("head360.cli.eval", "eval", "measure PSNR / SSIM on held-out views, expressions and subjects (JSON)"),
    ("head360.cli.render", "render", "render one image of a head from a checkpoint"),
    ("head360.cli.turntable", "turntable", "render a 360-degree turntable video (mp4 or gif)"),
    ("head360.cli.export_mesh", "export-mesh", "extract the full-head mesh (obj/ply/glb) by marching cubes"),
    ("head360.cli.export_rig", "export-rig", "the head as a glTF rig (.glb): 52 ARKit morph targets, texture, hair"),
    ("head360.cli.animate", "animate", "ARKit weights in/out, video-driven capture, animation videos (mp4 or gif)"),
    ("head360.cli.fit", "fit", "fit an animatable 360-degree head to one portrait photo (.h360 subject)"),
    ("head360.cli.bench", "bench", "time a checkpoint (camera moves, code changes, mesh export) as JSON"),
]
