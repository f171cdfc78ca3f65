"""Configuration of the Head360 generator: one small dataclass per component, composed into
:class:`GeneratorConfig`, with three named presets that share one code path:

* ``paper`` -- the numbers of the method (docs HEAD360-METHOD.md): UV neural texture 256^2 x 32,
  six orthographic rasterizations merged (released code: concatenation) into three 64-channel planes
  at 256^2, decoder 64 -> 64 -> 1+64, 64^2 neural render with 48 coarse + 48 importance samples,
  EG3D hybrid super-resolution to 512^2, pix2pixHD RefineNet.
* ``demo`` -- the bundled model: interactive on a 2-core CPU and trainable in minutes on one GPU.
  Smaller texture (128^2 x 16) and planes (128^2 x 32), the same decoder width, a 64^2 neural render
  with 12 + 12 samples placed only where the occupancy grid says there is something (empty-space
  skipping), super-resolution 64 -> 256, a small RefineNet.
* ``tiny`` -- for tests: a forward pass in well under a second.

Everything here is plain data (JSON-able through :func:`config_to_dict` / :func:`config_from_dict`);
checkpoints store it next to the weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from head360.errors import Head360Error

DEFAULT_HAIRSTYLES: tuple[str, ...] = (
    "buzz",
    "crop",
    "side_part",
    "bob",
    "shoulder",
    "long",
    "ponytail",
    "bun",
    "curly",
)
"""Hairstyle names used when a checkpoint is made without an explicit list (the data factory's styles
without "none"; "none" is never a bank entry: it means no hair planes at all)."""


@dataclass
class TextureGeneratorConfig:
    """Texture code ``t`` -> mapping network -> StyleGAN2-style synthesis -> UV neural texture."""

    code_dim: int = 512
    """Size of the texture code ``t``."""
    style_dim: int = 512
    """Size of the intermediate style vector ``w`` (also modulates the static planes and the SR)."""
    mapping_layers: int = 8
    """Fully connected layers in the mapping network ``t -> w``."""
    resolution: int = 256
    """Side of the square UV neural texture ``T``."""
    channels: int = 32
    """Feature channels of the neural texture ``C``."""
    channel_base: int = 32768
    """Synthesis channels at resolution r are ``min(channel_base // r, channel_max)`` (StyleGAN2)."""
    channel_max: int = 512


@dataclass
class PlanesConfig:
    """Mesh -> six orthographic UV rasterizations -> three axis-aligned feature planes."""

    resolution: int = 256
    """Side of each plane ``P`` (and of each rasterization)."""
    merge: str = "concat"
    """How a pair of opposite rasterizations becomes one plane: ``concat`` (released code: C + C
    channels) or ``sum`` (supplement: C channels)."""
    static_channel_base: int = 32768
    """Channels of the static plane generator (fills what the mesh does not cover), as above."""
    static_channel_max: int = 512


@dataclass
class MouthConfig:
    """Mouth-interior module: a small style-modulated conv net on a crop of the front rasterization
    around the mouth, whose output is added back into that window (a simplified Next3D variant)."""

    enabled: bool = True
    crop_size: float = 0.8
    """Edge of the square crop window in world units (0.8 = 8 cm), centred on the mouth interior."""
    crop_resolution: int = 64
    """Pixels of the crop the network sees."""
    channels: int = 64
    """Hidden channels of the mouth network."""


@dataclass
class HairConfig:
    """Hair planes: one set of three planes per hairstyle, made by a synthesis network from a learned
    per-hairstyle embedding (so every hairstyle shares weights), summed with the head planes."""

    styles: tuple[str, ...] = DEFAULT_HAIRSTYLES
    """Hairstyle names, in bank order."""
    channel_base: int = 32768
    channel_max: int = 512
    color: bool = True
    """Hair colour as an input (beyond the paper): a hairstyle's style vector is its embedding plus a
    learned linear function of the colour's difference from the colour the style was trained in.
    Checkpoints written before it existed load with it off."""


@dataclass
class DecoderConfig:
    """EG3D OSG decoder: mean of the three plane samples -> FC hidden -> softplus -> FC 1 + features."""

    hidden: int = 64
    features: int = 64
    """Feature channels rendered per pixel; the first three are RGB in [0, 1]."""


@dataclass
class RenderQuality:
    """Per-frame numbers of the volume renderer (same renderer, different numbers)."""

    neural_resolution: int = 64
    """Side of the volume-rendered feature image."""
    coarse_samples: int = 48
    importance_samples: int = 48
    super_resolution: bool = True
    """Run the super-resolution network (else ``rgb`` is the raw image upsampled bilinearly)."""
    refine: bool = True
    """Run the RefineNet when the model has one."""
    screen: bool = True
    """Run the camera-view path when the model has one (:class:`ScreenConfig`)."""
    screen_resolution: int = 0
    """Side the camera-view path runs at (0: the output resolution); smaller is faster, then upsampled."""
    superres_blocks: int = 0
    """Super-resolution blocks to run (0: all). Fewer stop at a smaller image, resized to the output
    resolution: the demo preset's preview skips the last 2x block (docs/MODEL.md, "Interactive speed")."""
    occupancy_resolution: int = 0
    """Cells per side of the occupancy grid this quality skips empty space with (0: the renderer's)."""


@dataclass
class RendererConfig:
    """EG3D ray marcher inside the head box, plus empty-space skipping for interactive renders."""

    qualities: dict[str, RenderQuality] = field(
        default_factory=lambda: {"full": RenderQuality(), "preview": RenderQuality(32, 24, 24, True, False)}
    )
    """Named quality presets; ``full`` is the default and what training uses."""
    density_bias: float = -1.0
    """Density = softplus(raw + density_bias) (EG3D uses softplus(x - 1))."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """RGB the rays see where the field is empty (the dataset renders heads on this colour)."""
    occupancy_resolution: int = 64
    """Cells per side of the occupancy grid used to skip empty space."""
    occupancy_threshold: float = 0.5
    """A cell is occupied when the density (per world unit) at its centre exceeds this (then dilated
    by one cell). 0.5 over a 2 cm step is 1% opacity."""
    occupancy_steps: int = 128
    """Lookups per ray when finding the occupied interval of the ray."""


@dataclass
class SuperResolutionConfig:
    """EG3D hybrid super-resolution: bilinear resize to ``input_resolution``, then one modulated
    StyleGAN2 synthesis block (2x upsampling, RGB skip) per entry of ``channels``."""

    input_resolution: int = 128
    channels: tuple[int, ...] = (256, 128)

    @property
    def output_resolution(self) -> int:
        return self.input_resolution * 2 ** len(self.channels)


@dataclass
class DiscriminatorConfig:
    """EG3D dual discriminator: [image, upsampled raw image] (6 channels) conditioned on the 25-d
    camera label and the 52 blendshape weights (projection conditioning)."""

    channel_base: int = 32768
    channel_max: int = 512
    condition_dim: int = 64
    """Size of the embedded condition vector (``cmap``)."""
    mbstd_group: int = 4


@dataclass
class RefineNetConfig:
    """pix2pixHD global generator (the RefineNet) and its multi-scale discriminator."""

    enabled: bool = True
    base_channels: int = 64
    """``ngf``: channels after the first 7x7 convolution."""
    downsamplings: int = 4
    residual_blocks: int = 9
    disc_base_channels: int = 64
    """``ndf`` of each scale of the multi-scale discriminator."""
    disc_layers: int = 3
    disc_scales: int = 3


@dataclass
class ScreenConfig:
    """The camera-view path (:mod:`head360.model.screen`, demo preset): the mesh rasterized from the
    render camera at the output resolution, the UV neural texture and a shared detail texture read
    through it, and a small compositor that blends that into the volume path's image. Off in the paper
    preset (its layout is the method's); a checkpoint written before this existed loads with it off."""

    enabled: bool = False
    detail_channels: int = 8
    """Channels of the shared UV detail texture (the first three start from the mean albedo atlas)."""
    detail_resolution: int = 256
    """Side of the shared detail texture."""
    hidden: int = 32
    """Channels of the compositor's layers."""


@dataclass
class GeneratorConfig:
    name: str = "paper"
    texture: TextureGeneratorConfig = field(default_factory=TextureGeneratorConfig)
    planes: PlanesConfig = field(default_factory=PlanesConfig)
    mouth: MouthConfig = field(default_factory=MouthConfig)
    hair: HairConfig = field(default_factory=HairConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    renderer: RendererConfig = field(default_factory=RendererConfig)
    superres: SuperResolutionConfig = field(default_factory=SuperResolutionConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    refine: RefineNetConfig = field(default_factory=RefineNetConfig)
    screen: ScreenConfig = field(default_factory=ScreenConfig)

    @property
    def plane_channels(self) -> int:
        """Channels of each merged plane: 2C for ``concat``, C for ``sum``."""
        return self.texture.channels * (2 if self.planes.merge == "concat" else 1)

    @property
    def image_resolution(self) -> int:
        return self.superres.output_resolution

    def validate(self) -> GeneratorConfig:
        if self.planes.merge not in ("concat", "sum"):
            raise Head360Error(f"planes.merge must be 'concat' or 'sum', got {self.planes.merge!r}")
        if "full" not in self.renderer.qualities:
            raise Head360Error("renderer.qualities needs a 'full' entry")
        if "none" in self.hair.styles or len(set(self.hair.styles)) != len(self.hair.styles):
            raise Head360Error("hair.styles must be unique names and must not contain 'none'")
        for r in (self.texture.resolution, self.planes.resolution, self.superres.input_resolution):
            if r < 4 or r & (r - 1):
                raise Head360Error(f"resolutions must be powers of two >= 4, got {r}")
        if self.decoder.features < 3:
            raise Head360Error("decoder.features must be at least 3 (the first three are RGB)")
        blocks = len(self.superres.channels)
        for name, q in self.renderer.qualities.items():
            if not 0 <= q.superres_blocks <= blocks:
                raise Head360Error(f"quality '{name}': superres_blocks must be 0..{blocks}, got {q.superres_blocks}")
        return self


def _paper() -> GeneratorConfig:
    return GeneratorConfig(name="paper").validate()


def _demo() -> GeneratorConfig:
    return GeneratorConfig(
        name="demo",
        texture=TextureGeneratorConfig(
            code_dim=64,
            style_dim=128,
            mapping_layers=2,
            resolution=128,
            channels=16,
            channel_base=2048,
            channel_max=128,
        ),
        planes=PlanesConfig(resolution=128, merge="concat", static_channel_base=2048, static_channel_max=96),
        mouth=MouthConfig(enabled=True, crop_size=0.8, crop_resolution=32, channels=32),
        hair=HairConfig(channel_base=2048, channel_max=96),
        decoder=DecoderConfig(hidden=64, features=32),
        renderer=RendererConfig(
            qualities={
                "full": RenderQuality(64, 12, 12, True, True),
                "preview": RenderQuality(48, 8, 6, True, False, True, 96, superres_blocks=1, occupancy_resolution=32),
            },
            occupancy_resolution=48,
            occupancy_steps=96,
        ),
        superres=SuperResolutionConfig(input_resolution=64, channels=(32, 16)),
        discriminator=DiscriminatorConfig(channel_base=4096, channel_max=128, condition_dim=32),
        # the camera-view path carries the face's detail to the output, so the RefineNet is left out
        # (docs/MODEL.md, "The camera-view path")
        refine=RefineNetConfig(
            enabled=False, base_channels=8, downsamplings=3, residual_blocks=3, disc_base_channels=32, disc_scales=2
        ),
        screen=ScreenConfig(enabled=True, detail_channels=8, detail_resolution=256, hidden=32),
    ).validate()


def _tiny() -> GeneratorConfig:
    return GeneratorConfig(
        name="tiny",
        texture=TextureGeneratorConfig(
            code_dim=16, style_dim=32, mapping_layers=1, resolution=32, channels=4, channel_base=256, channel_max=16
        ),
        planes=PlanesConfig(resolution=32, merge="concat", static_channel_base=256, static_channel_max=16),
        mouth=MouthConfig(enabled=True, crop_size=0.8, crop_resolution=8, channels=8),
        hair=HairConfig(styles=("short", "long", "curly"), channel_base=256, channel_max=16),
        decoder=DecoderConfig(hidden=16, features=8),
        renderer=RendererConfig(
            qualities={
                "full": RenderQuality(16, 8, 8, True, True),
                "preview": RenderQuality(8, 4, 4, True, False),
            },
            occupancy_resolution=16,
            occupancy_steps=32,
            # denser than EG3D's -1 so that an untrained tiny field is opaque enough for tests to see it
            density_bias=1.0,
        ),
        superres=SuperResolutionConfig(input_resolution=16, channels=(8, 4)),
        discriminator=DiscriminatorConfig(channel_base=256, channel_max=16, condition_dim=8, mbstd_group=2),
        refine=RefineNetConfig(
            enabled=True, base_channels=4, downsamplings=2, residual_blocks=1, disc_base_channels=4, disc_scales=2
        ),
        screen=ScreenConfig(enabled=True, detail_channels=4, detail_resolution=32, hidden=8),
    ).validate()


_PRESETS = {"paper": _paper, "demo": _demo, "tiny": _tiny}


def presets() -> tuple[str, ...]:
    """Names of the built-in presets."""
    return tuple(_PRESETS)


def make_config(name: str) -> GeneratorConfig:
    """A fresh copy of preset ``name`` (``paper``, ``demo`` or ``tiny``)."""
    if name not in _PRESETS:
        raise Head360Error(f"unknown model preset '{name}'; choose one of {', '.join(_PRESETS)}")
    return _PRESETS[name]()


# --- JSON round trip ------------------------------------------------------------------------------
def config_to_dict(config: GeneratorConfig) -> dict:
    """Plain JSON-able dict of ``config``."""
    return dataclasses.asdict(config)


def config_from_dict(data: dict) -> GeneratorConfig:
    """Inverse of :func:`config_to_dict`; unknown or missing fields raise Head360Error."""
    try:
        parts = {}
        for f in dataclasses.fields(GeneratorConfig):
            if f.name == "name":
                continue
            cls = {
                "texture": TextureGeneratorConfig,
                "planes": PlanesConfig,
                "mouth": MouthConfig,
                "hair": HairConfig,
                "decoder": DecoderConfig,
                "renderer": RendererConfig,
                "superres": SuperResolutionConfig,
                "discriminator": DiscriminatorConfig,
                "refine": RefineNetConfig,
                "screen": ScreenConfig,
            }[f.name]
            if f.name == "screen" and "screen" not in data:
                continue  # written before the camera-view path existed: the path stays off
            values = dict(data[f.name])
            if f.name == "renderer":
                # render settings a checkpoint predates take the values of its preset's quality of that name
                known = _PRESETS[data["name"]]().renderer.qualities if data.get("name") in _PRESETS else {}
                values["qualities"] = {
                    k: RenderQuality(**{**(dataclasses.asdict(known[k]) if k in known else {}), **v})
                    for k, v in values["qualities"].items()
                }
                values["background"] = tuple(values["background"])
            if f.name == "hair":
                values["styles"] = tuple(values["styles"])
                values.setdefault("color", False)  # written before hair colour was an input
            if f.name == "superres":
                values["channels"] = tuple(values["channels"])
            parts[f.name] = cls(**values)
        return GeneratorConfig(name=str(data.get("name", "custom")), **parts).validate()
    except (KeyError, TypeError, ValueError) as e:
        raise Head360Error(
            f"the model configuration does not match this version of Head360 ({type(e).__name__}: {e}); "
            "use a checkpoint written by this version"
        ) from e
