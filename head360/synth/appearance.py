"""Procedural appearance: skin, lips, brows, lashes, eyes, mouth and hair colours, painted as textures.

* :class:`Appearance` holds the colours and amounts of one subject (JSON-able; colours are sRGB in 0..1).
* :func:`sample_appearance` draws one from realistic marginal frequencies (every skin tone from very
  light to very dark with cool/neutral/warm undertones; every hair and iris colour turns up within a few
  dozen subjects). Subjects are makeup-free.
* :func:`paint_head_texture` paints the template's UV atlas. Nothing about the atlas layout is hard-coded:
  the template's 3D positions, normals and parts are rasterized into texture space
  (``head360.gl.rasterize_uv``), and every feature is a function of the 3D position relative to the
  template's anchors (eye centres, lid and lip lines, brow line...).
* :func:`paint_hair_texture` paints the strands for a :class:`head360.synth.hair.HairMesh` (u across the
  strands, wrapping; v along them).

Colours are mixed in linear light and written as sRGB uint8 images.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from head360.errors import Head360Error
from head360.synth.noise import smoothstep, value_noise2

# ----------------------------------------------------------------------------------------------
# Palettes (sRGB 0..255)
# ----------------------------------------------------------------------------------------------
_SKIN_RAMP: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.00, (238, 200, 180)),  # very light (pale, pinkish)
    (0.14, (230, 188, 160)),  # light
    (0.28, (216, 170, 136)),  # light-medium
    (0.42, (198, 148, 110)),  # medium (olive/tan)
    (0.56, (170, 118, 82)),  # tan / light brown
    (0.70, (132, 88, 60)),  # brown
    (0.84, (94, 62, 44)),  # dark brown
    (1.00, (60, 40, 30)),  # very dark
)
"""Skin albedo along a melanin axis ``skin_tone`` 0 (very light) .. 1 (very dark)."""

HAIR_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (30, 26, 24),
    "dark_brown": (60, 42, 31),
    "brown": (98, 66, 43),
    "light_brown": (140, 102, 70),
    "auburn": (112, 52, 32),
    "red": (146, 66, 38),
    "blond": (180, 144, 98),
    "platinum": (204, 188, 152),
    "grey": (142, 138, 132),
    "white": (200, 196, 186),
}
"""Hair albedo per named colour."""

IRIS_COLORS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "dark_brown": ((48, 28, 16), (36, 20, 12)),
    "brown": ((100, 60, 30), (70, 40, 20)),
    "amber": ((168, 112, 42), (130, 80, 28)),
    "hazel": ((112, 108, 60), (128, 80, 36)),
    "green": ((88, 124, 72), (118, 100, 48)),
    "blue": ((84, 126, 172), (110, 140, 160)),
    "grey": ((128, 138, 142), (110, 112, 104)),
}
"""Iris colours: (outer stroma, inner ring around the pupil)."""


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def to_uint8(srgb: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(srgb) * 255.0), 0, 255).astype(np.uint8)


def skin_color(tone: float, undertone: float) -> tuple[float, float, float]:
    """sRGB skin albedo for ``tone`` in 0..1 (very light..very dark) and ``undertone`` in -1..1.

    Negative undertones are cool (pink), positive are warm (golden / olive).
    """
    xs = np.array([t for t, _ in _SKIN_RAMP])
    cs = np.array([c for _, c in _SKIN_RAMP], np.float64) / 255.0
    lin = srgb_to_linear(cs)
    t = float(np.clip(tone, 0.0, 1.0))
    c = np.array([np.interp(t, xs, lin[:, k]) for k in range(3)])
    u = float(np.clip(undertone, -1.0, 1.0))
    if u < 0:  # cool: pinker
        c = c * (1.0 + np.array([0.05, -0.04, 0.03]) * -u)
    else:  # warm / olive: more yellow, less blue
        c = c * (1.0 + np.array([-0.01, 0.04, -0.10]) * u)
    return tuple(float(x) for x in linear_to_srgb(c))


@dataclass
class Appearance:
    """The look of one subject (makeup-free). Colours are sRGB triples in 0..1.

    skin_tone:        0 very light .. 1 very dark (melanin axis)
    skin_undertone:   -1 cool (pink) .. 0 neutral .. 1 warm (golden / olive)
    skin_color:       albedo derived from tone and undertone
    skin_blotchiness: 0..1 low-frequency unevenness of the skin
    skin_redness:     0..1 redness of cheeks, nose, ears
    pores:            0..1 strength of the fine pore / micro-noise
    freckles:         0..1 density of freckles (nose, cheeks, forehead)
    stubble:          0..1 beard shadow on the jaw, chin and upper lip (0: none)
    lip_color:        vermilion albedo
    brow_color:       eyebrow hair albedo
    brow_thickness:   0.6..1.4 scale of the brow's height
    brow_arch:        0..1 how high the brow peaks above its ends
    brow_density:     0.5..1 fraction of the brow covered by hairs
    lash_darkness:    0..1 darkness of the lash lines
    iris:             name of the iris colour (``IRIS_COLORS``)
    iris_color:       outer iris (stroma) albedo
    iris_inner_color: ring around the pupil
    sclera_tint:      white of the eye
    hair:             name of the hair colour (``HAIR_COLORS``)
    hair_color:       hair albedo (also used for the scalp shadow and stubble)
    hair_grey:        0..1 fraction of grey strands mixed in
    """

    skin_tone: float
    skin_undertone: float
    skin_color: tuple[float, float, float]
    skin_blotchiness: float
    skin_redness: float
    pores: float
    freckles: float
    stubble: float
    lip_color: tuple[float, float, float]
    brow_color: tuple[float, float, float]
    brow_thickness: float
    brow_arch: float
    brow_density: float
    lash_darkness: float
    iris: str
    iris_color: tuple[float, float, float]
    iris_inner_color: tuple[float, float, float]
    sclera_tint: tuple[float, float, float]
    hair: str
    hair_color: tuple[float, float, float]
    hair_grey: float

    def to_json(self) -> dict:
        """A plain dict of JSON types (``json.dumps`` works on it)."""
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}

    @staticmethod
    def from_json(data: dict | str) -> Appearance:
        """Inverse of :meth:`to_json` (accepts the dict or its JSON text)."""
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as e:
                raise Head360Error(f"appearance is not valid JSON ({e}); pass the output of Appearance.to_json") from e
        names = [f.name for f in fields(Appearance)]
        missing = [n for n in names if n not in data]
        if missing:
            raise Head360Error(f"appearance is missing {', '.join(missing)}; pass the output of Appearance.to_json")
        kwargs = {}
        for n in names:
            v = data[n]
            kwargs[n] = tuple(float(x) for x in v) if isinstance(v, list | tuple) else v
        return Appearance(**kwargs)


# ----------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------
def _jitter(rgb, rng: np.random.Generator, amount: float) -> tuple[float, float, float]:
    lin = srgb_to_linear(np.asarray(rgb, np.float64) / (255.0 if max(rgb) > 1.0 else 1.0))
    lin = lin * np.exp(rng.normal(0.0, amount)) * np.exp(rng.normal(0.0, amount * 0.4, 3))
    return tuple(float(x) for x in linear_to_srgb(lin))


def _hair_probabilities(tone: float, age_grey: float) -> dict[str, float]:
    light = 1.0 - smoothstep(0.25, 0.6, tone)  # lighter skin: more variety of hair colours
    p = {
        "black": 0.10 + 0.45 * (1 - light),
        "dark_brown": 0.22 + 0.15 * (1 - light),
        "brown": 0.18,
        "light_brown": 0.04 + 0.08 * light,
        "auburn": 0.02 + 0.04 * light,
        "red": 0.015 + 0.05 * light,
        "blond": 0.03 + 0.12 * light,
        "platinum": 0.015 + 0.04 * light,
        "grey": 0.04 + 0.10 * age_grey,
        "white": 0.015 + 0.05 * age_grey,
    }
    s = sum(p.values())
    return {k: v / s for k, v in p.items()}


def _iris_probabilities(tone: float) -> dict[str, float]:
    light = 1.0 - smoothstep(0.2, 0.55, tone)
    p = {
        "dark_brown": 0.15 + 0.45 * (1 - light),
        "brown": 0.25 + 0.1 * (1 - light),
        "amber": 0.04,
        "hazel": 0.06 + 0.08 * light,
        "green": 0.02 + 0.09 * light,
        "blue": 0.03 + 0.22 * light,
        "grey": 0.02 + 0.06 * light,
    }
    s = sum(p.values())
    return {k: v / s for k, v in p.items()}


def _choice(rng: np.random.Generator, probs: dict[str, float]) -> str:
    names = list(probs)
    return str(names[int(rng.choice(len(names), p=np.array([probs[n] for n in names])))])


def sample_appearance(rng: np.random.Generator | None = None) -> Appearance:
    """Draw one subject's appearance.

    Skin tone is uniform over the whole range (a dataset should cover everyone); hair and iris
    colours follow frequencies that depend on the tone (more blue/green eyes and blond/red hair with
    light skin, mostly brown eyes and dark hair with dark skin) but every colour stays possible.
    """
    rng = np.random.default_rng() if rng is None else rng
    tone = float(rng.uniform(0.0, 1.0))
    undertone = float(np.clip(rng.normal(0.1 + 0.3 * smoothstep(0.2, 0.6, tone), 0.45), -1.0, 1.0))
    skin = skin_color(tone, undertone)
    age_grey = float(rng.beta(1.2, 4.0))  # how far greying has gone (older subjects)
    hair = _choice(rng, _hair_probabilities(tone, age_grey))
    hair_color = _jitter(HAIR_COLORS[hair], rng, 0.08)
    hair_grey = 0.0 if hair in ("grey", "white") else float(np.clip(age_grey - 0.45, 0.0, 0.4))
    iris = _choice(rng, _iris_probabilities(tone))
    outer, inner = IRIS_COLORS[iris]
    # brows: like the hair, a bit darker; very light hair keeps visibly light brows
    brow_lin = srgb_to_linear(np.array(hair_color)) * 0.7
    if hair in ("grey", "white", "platinum"):
        brow_lin = 0.5 * brow_lin + 0.5 * srgb_to_linear(np.array(HAIR_COLORS["light_brown"]) / 255.0)
    brow = tuple(float(x) for x in linear_to_srgb(brow_lin * np.exp(rng.normal(0, 0.1))))
    # lips: the skin's colour pushed towards red, darker for darker skin
    skin_lin = srgb_to_linear(np.array(skin))
    lip_lin = skin_lin * np.array([0.95, 0.62, 0.62]) * (0.92 - 0.12 * tone) * np.exp(rng.normal(0, 0.08))
    lip_lin = lip_lin * np.exp(rng.normal(0, 0.05, 3))
    lip = tuple(float(x) for x in linear_to_srgb(lip_lin))
    male_like = rng.uniform() < 0.5
    stubble = float(rng.uniform(0.2, 0.9)) if (male_like and rng.uniform() < 0.55) else 0.0
    light_skin = 1.0 - smoothstep(0.15, 0.45, tone)
    freckle_chance = 0.08 + 0.35 * light_skin * (1.0 if hair in ("red", "auburn", "blond", "light_brown") else 0.4)
    freckles = float(rng.uniform(0.2, 1.0)) if rng.uniform() < freckle_chance else 0.0
    sclera = tuple(float(x) for x in np.clip(np.array([0.93, 0.90, 0.86]) + rng.normal(0, 0.015, 3), 0, 1))
    return Appearance(
        skin_tone=tone,
        skin_undertone=undertone,
        skin_color=skin,
        skin_blotchiness=float(rng.uniform(0.2, 1.0)),
        skin_redness=float(rng.uniform(0.1, 0.9) * (1.0 - 0.6 * smoothstep(0.4, 0.9, tone))),
        pores=float(rng.uniform(0.3, 1.0)),
        freckles=freckles,
        stubble=stubble,
        lip_color=lip,
        brow_color=brow,
        brow_thickness=float(rng.uniform(0.7, 1.3) * (1.1 if male_like else 0.9)),
        brow_arch=float(rng.uniform(0.2, 0.9)),
        brow_density=float(rng.uniform(0.6, 1.0)),
        lash_darkness=float(rng.uniform(0.6, 1.0)),
        iris=iris,
        iris_color=_jitter(outer, rng, 0.1),
        iris_inner_color=_jitter(inner, rng, 0.1),
        sclera_tint=sclera,
        hair=hair,
        hair_color=hair_color,
        hair_grey=hair_grey,
    )


# ----------------------------------------------------------------------------------------------
# Hair texture
# ----------------------------------------------------------------------------------------------
_PARTED_STYLES = {"side_part": 0.6, "long": 0.55, "shoulder": 0.45}
"""Styles with a part line along the chart seam (u = 0 = 1) and how far along v it runs."""


def paint_hair_texture(
    appearance: Appearance, style: str, size: int = 512, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Albedo for a hair mesh of ``style`` -> [size, size, 3] uint8 sRGB (row 0 is v = 1).

    Strand streaks run along v; clumps of strands separate with darker gaps; tips of long hair are a
    little lighter, roots a little darker; a fraction of grey strands is mixed in with age; curly hair
    gets short wavy strands with dark crevices between curls. The texture tiles in u (the hair chart
    wraps around its pole). Parted styles show the scalp along the part line.
    """
    from head360.synth.hair import HAIRSTYLES

    if style not in HAIRSTYLES or style == "none":
        raise Head360Error(f"no hair texture for style '{style}'; choose one of: {', '.join(HAIRSTYLES[1:])}")
    if not 16 <= size <= 8192:
        raise Head360Error(f"hair texture size must be 16..8192, got {size}")
    rng = np.random.default_rng(0) if rng is None else rng
    seed = int(rng.integers(0, 2**31 - 1))
    v = 1.0 - (np.arange(size) + 0.5) / size
    u = (np.arange(size) + 0.5) / size
    U, V = np.meshgrid(u, v)  # [size, size]
    curly = style == "curly"
    if curly:  # wavy strands: warp u by a wave along v whose phase changes from strand group to group
        phase = value_noise2(np.stack([U, V * 0], -1), (48.0, 1.0), seed + 1, period=(48, None))
        U = U + 0.004 * np.sin(2 * math.pi * (28.0 * V + 2.0 * phase))
    uv = np.stack([U, V], -1)
    n_fine = max(64, size // 2)
    fine = value_noise2(uv, (n_fine, 6.0), seed + 2, period=(n_fine, None))
    mid = value_noise2(uv, (n_fine // 4, 3.0), seed + 3, period=(n_fine // 4, None))
    n_clump = 96 if curly else 64
    clump = value_noise2(uv, (float(n_clump), 2.0 if curly else 1.5), seed + 4, period=(n_clump, None))
    lengthwise = value_noise2(uv, (24.0, 8.0), seed + 5, period=(24, None))
    base = srgb_to_linear(np.array(appearance.hair_color))
    lum = float(base @ np.array([0.2126, 0.7152, 0.0722]))
    light_hair = smoothstep(0.08, 0.45, lum)
    # strand brightness: dark hair varies more in relative terms (highlights of single strands)
    # strand brightness; light hair shows its depth through darker strands and gaps (self-shadowing)
    strand = 1.0 + 0.22 * fine + (0.08 + 0.06 * light_hair) * mid + 0.05 * lengthwise
    gaps = smoothstep(-0.3, -0.85, clump)  # dark separations between clumps
    shade = strand * (1.0 - (0.28 + 0.1 * light_hair) * gaps) * (1.0 + 0.06 * clump)
    if curly:  # curl by curl: a bright crest and a dark crevice
        curl = value_noise2(uv, (160.0, 90.0), seed + 6, period=(160, None))
        shade = shade * (1.0 - 0.25 * smoothstep(-0.2, -0.8, curl)) * (1.0 + 0.1 * curl)
    if style in ("long", "shoulder", "bob", "ponytail"):
        tip = smoothstep(0.55, 1.0, V)
        shade = shade * (1.0 + 0.12 * tip)
    root = smoothstep(0.12, 0.0, V)
    shade = shade * (1.0 - 0.12 * root)
    # colour: hue varies slightly from clump to clump (warmer / cooler strands)
    warm = value_noise2(uv, (16.0, 1.0), seed + 7, period=(16, None))
    tint = np.stack([1.0 + 0.05 * warm, 1.0 + 0.0 * warm, 1.0 - 0.08 * warm], -1)
    color = base[None, None, :] * tint * shade[..., None]
    if appearance.hair_grey > 0:
        grey_noise = value_noise2(uv, (n_fine, 2.0), seed + 8, period=(n_fine, None))
        is_grey = smoothstep(1.0 - 2.0 * appearance.hair_grey, 1.05 - 2.0 * appearance.hair_grey, grey_noise)
        grey = srgb_to_linear(np.array(HAIR_COLORS["grey"]) / 255.0) * (1.0 + 0.25 * fine)[..., None]
        color = color + (grey - color) * is_grey[..., None]
    if style in _PARTED_STYLES:
        extent = _PARTED_STYLES[style]
        du = np.minimum(U, 1.0 - U)
        part = np.exp(-((du / 0.004) ** 2)) * smoothstep(extent, extent - 0.2, V)
        scalp = srgb_to_linear(np.array(appearance.skin_color)) * 0.8
        sparse = 0.55 + 0.45 * smoothstep(-0.3, 0.3, fine)  # a few hairs lie across the part
        color = color + (scalp - color) * (part * sparse)[..., None]
    return to_uint8(linear_to_srgb(color))
