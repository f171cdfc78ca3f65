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
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from head360.errors import Head360Error
from head360.synth.noise import smoothstep, value_noise2

# ----------------------------------------------------------------------------------------------
# Palettes (sRGB 0..255)
# ----------------------------------------------------------------------------------------------
_SKIN_RAMP: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.00, (226, 190, 174)),  # very light (pale, pinkish)
    (0.14, (216, 178, 158)),  # light
    (0.28, (202, 160, 132)),  # light-medium
    (0.42, (186, 140, 106)),  # medium (olive/tan)
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

    def hair_mean_color(self) -> tuple[float, float, float]:
        """The hair's mean colour, sRGB 0..1: the albedo with its fraction of grey strands mixed in
        (linear light). This is the colour a model trained on the factory takes as its hair colour."""
        grey = srgb_to_linear(np.array(HAIR_COLORS["grey"]) / 255.0)
        lin = srgb_to_linear(np.array(self.hair_color)) * (1.0 - self.hair_grey) + grey * self.hair_grey
        return tuple(float(x) for x in linear_to_srgb(lin))

    def recoloured(self, name: str, rng: np.random.Generator) -> Appearance:
        """This appearance with hair of the named colour (``HAIR_COLORS``, jittered by ``rng``), no grey."""
        return replace(self, hair=name, hair_color=_jitter(HAIR_COLORS[name], rng, 0.08), hair_grey=0.0)

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
    return _with_floor(p, 0.55)


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
    return _with_floor(p, 0.5)


def _with_floor(p: dict[str, float], uniform: float) -> dict[str, float]:
    """Normalise and mix with a uniform share, so rare colours still turn up in a few dozen subjects
    (a training set needs them more than the world's frequencies would give)."""
    s = sum(p.values())
    return {k: (1.0 - uniform) * v / s + uniform / len(p) for k, v in p.items()}


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


# ----------------------------------------------------------------------------------------------
# Head texture: anchors, texture-space maps, and the painters
# ----------------------------------------------------------------------------------------------
REGION_SKIN, REGION_EYEBALL, REGION_TEETH_UPPER, REGION_TEETH_LOWER, REGION_TONGUE, REGION_CAVITY, REGION_LINING = (
    range(7)
)
"""Paint regions the template's parts are mapped to."""


@dataclass(frozen=True)
class FaceAnchors:
    """Points of the mean template that features are painted relative to (world units).

    eye_centers [2, 3] (left = +x first), eye_axes [2, 3] unit gaze directions, eyeball_radius;
    lid_upper / lid_lower: per eye [n, 3] polylines along the lid margins (inner to outer corner);
    mouth_center [3] (where the lips meet at the middle), mouth_half_width, mouth_line: [n, 3]
    polyline where the lips meet (corner to corner); nose_tip [3]; chin [3]; ears [2, 3];
    hairline_y: height of the forehead hairline.
    """

    eye_centers: np.ndarray
    eye_axes: np.ndarray
    eyeball_radius: float
    lid_upper: tuple[np.ndarray, np.ndarray]
    lid_lower: tuple[np.ndarray, np.ndarray]
    mouth_center: np.ndarray
    mouth_half_width: float
    mouth_line: np.ndarray
    nose_tip: np.ndarray
    chin: np.ndarray
    ears: np.ndarray
    hairline_y: float
    iris_radius: float = 0.058
    brow_lines: tuple[np.ndarray, np.ndarray] | None = None
    """Per side [n, 3] eyebrow line on the skin, inner -> outer end (None: derived from the eyes)."""


def _anchor(anchors: dict, *names):
    for n in names:
        if n in anchors:
            return np.asarray(anchors[n], np.float64)
    return None


def face_anchors(template) -> FaceAnchors:
    """Collect the anchors the painters need from ``template`` (its ``anchors`` dict and its mesh)."""
    a = getattr(template, "anchors", {}) or {}
    v = np.asarray(template.vertices, np.float64)
    eye_l = _anchor(a, "eye_center_left", "eye_left")
    eye_r = _anchor(a, "eye_center_right", "eye_right")
    if eye_l is None or eye_r is None:
        raise Head360Error("the template has no eye centre anchors; rebuild it with head360.mesh.template")
    eyes = np.stack([eye_l, eye_r])
    radius = _anchor(a, "eyeball_radius")
    radius = 0.12 if radius is None else float(np.asarray(radius).reshape(-1)[0])
    iris_radius = _anchor(a, "iris_radius")
    iris_radius = 0.058 if iris_radius is None else float(np.asarray(iris_radius).reshape(-1)[0])
    axes = []
    for name in ("left", "right"):
        ax = _anchor(a, f"iris_direction_{name}", f"eye_axis_{name}")
        axes.append(np.array([0.0, 0.0, 1.0]) if ax is None else ax / np.linalg.norm(ax))
    lids_u, lids_l = [], []
    for side, name in ((0, "left"), (1, "right")):
        up = _anchor(a, f"lid_upper_{name}", f"upper_lid_{name}")
        lo = _anchor(a, f"lid_lower_{name}", f"lower_lid_{name}")
        if up is None or lo is None or up.ndim != 2:
            up, lo = _default_lids(eyes[side], radius, 1.0 if side == 0 else -1.0)
        lids_u.append(up)
        lids_l.append(lo)
    mouth_line = _anchor(a, "mouth_line", "lip_line")
    lip_up, lip_lo = _anchor(a, "lip_upper_line"), _anchor(a, "lip_lower_line")
    if lip_up is not None and lip_lo is not None and lip_up.shape == lip_lo.shape:
        mouth_line = 0.5 * (lip_up + lip_lo)
    if mouth_line is not None and mouth_line.ndim == 2:
        mouth_c = mouth_line[np.argmin(np.abs(mouth_line[:, 0]))]
        half_w = float(np.abs(mouth_line[:, 0]).max())
    else:
        mc = _anchor(a, "mouth_center", "stomion")
        mouth_c = mc if mc is not None else np.array([0.0, eyes[0, 1] - 0.66, eyes[0, 2] + 0.3])
        half_w = 0.25
        xs = np.linspace(-half_w, half_w, 21)
        mouth_line = np.stack([xs, mouth_c[1] + 0.012 * (xs / half_w) ** 2, mouth_c[2] - 0.12 * (xs / half_w) ** 2], 1)
    nose = _anchor(a, "nose_tip", "pronasale")
    if nose is None:
        front = v[np.abs(v[:, 0]) < 0.05]
        nose = front[np.argmax(front[:, 2])]
    chin = _anchor(a, "chin", "menton")
    if chin is None:
        chin = np.array([0.0, mouth_c[1] - 0.45, mouth_c[2] - 0.1])
    ear_l = _anchor(a, "ear_left", "tragus_left")
    ear_r = _anchor(a, "ear_right", "tragus_right")
    if ear_l is None or ear_r is None:
        ear_l = np.array([0.74, eyes[0, 1] - 0.1, -0.1])
        ear_r = ear_l * np.array([-1, 1, 1])
    hl = _anchor(a, "hairline")
    if hl is not None and hl.ndim == 2:
        hairline_y = float(hl[np.argmax(hl[:, 2]), 1])
    elif hl is not None:
        hairline_y = float(hl[1])
    else:
        hairline_y = float(eyes[0, 1] + 0.62)
    brows = None
    bl, br = _anchor(a, "brow_left"), _anchor(a, "brow_right")
    if bl is not None and br is not None and bl.ndim == 2 and br.ndim == 2:
        brows = (bl, br)
    return FaceAnchors(
        eye_centers=eyes,
        eye_axes=np.stack(axes),
        eyeball_radius=radius,
        lid_upper=(lids_u[0], lids_u[1]),
        lid_lower=(lids_l[0], lids_l[1]),
        mouth_center=np.asarray(mouth_c, np.float64),
        mouth_half_width=half_w,
        mouth_line=np.asarray(mouth_line, np.float64),
        nose_tip=np.asarray(nose, np.float64),
        chin=np.asarray(chin, np.float64),
        ears=np.stack([ear_l, ear_r]),
        hairline_y=hairline_y,
        iris_radius=iris_radius,
        brow_lines=brows,
    )


def _default_lids(center: np.ndarray, radius: float, side: float) -> tuple[np.ndarray, np.ndarray]:
    """Lid margins on the eyeball surface when the template has none (inner -> outer corner)."""
    t = np.linspace(0.0, 1.0, 24)
    ex = -0.15 + 0.29 * t  # lateral coordinate (eye-local), inner corner medial
    up = 0.072 * np.sin(np.pi * t) ** 0.8
    lo = -0.058 * np.sin(np.pi * t) ** 0.9
    lids = []
    for ey in (up, lo):
        z = np.sqrt(np.maximum((radius + 0.01) ** 2 - ex**2 - ey**2, 0.0))
        lids.append(np.stack([center[0] + side * ex, center[1] + ey, center[2] + z], 1))
    return lids[0], lids[1]


def _region_of_parts(template) -> np.ndarray:
    """[F] paint region of every face, from the template's parts (by name) or face labels."""
    from head360.labels import Label

    faces = np.asarray(template.faces)
    region = np.full(len(faces), REGION_SKIN, np.int64)
    face_label = getattr(template, "face_label", None)
    if face_label is not None:
        fl = np.asarray(face_label)
        region[fl == int(Label.EYES)] = REGION_EYEBALL
        region[fl == int(Label.MOUTH_INTERIOR)] = REGION_CAVITY
    vertex_part = getattr(template, "vertex_part", None)
    if vertex_part is None:
        return region
    names = _part_names()
    part_of_face = np.asarray(vertex_part)[faces[:, 0]]
    for value, name in names.items():
        n = name.upper()
        sel = part_of_face == value
        if "EYEBALL" in n:
            region[sel] = REGION_EYEBALL
        elif "SOCKET" in n or "LINING" in n:
            region[sel] = REGION_LINING
        elif ("TOOTH" in n or "TEETH" in n) and ("LOW" in n or "BOTTOM" in n):
            region[sel] = REGION_TEETH_LOWER
        elif "TOOTH" in n or "TEETH" in n:
            region[sel] = REGION_TEETH_UPPER
        elif "TONGUE" in n:
            region[sel] = REGION_TONGUE
        elif "BAG" in n or "CAVITY" in n or "MOUTH" in n:
            region[sel] = REGION_CAVITY
        else:
            region[sel] = REGION_SKIN
    return region


def _part_names() -> dict[int, str]:
    """Template part values -> names (empty when the template module has no Part enum)."""
    try:
        from head360.mesh.template import Part
    except ImportError:
        return {}
    return {int(p): p.name for p in Part}


_MAP_CACHE: dict = {}


@dataclass
class _TexelMaps:
    """Texture-space maps of the template at one size (texels in the atlas, dilated)."""

    index: tuple[np.ndarray, np.ndarray]  # rows, cols of the painted texels
    position: np.ndarray  # [K, 3]
    normal: np.ndarray  # [K, 3]
    region: np.ndarray  # [K]
    occlusion: np.ndarray  # [K] 0..1 (1 = open)
    scalp: np.ndarray  # [K] template scalp weight (1 where hair grows), -1 where unknown
    anchors: FaceAnchors | None = None
    skin: _SkinFields | None = None


def _texel_maps(template, size: int) -> _TexelMaps:
    key = (id(template), size)
    hit = _MAP_CACHE.get(key)
    if hit is not None and hit[0] is template:
        return hit[1]
    from head360.gl.bake import ambient_occlusion, rasterize_uv
    from head360.gl.glutil import vertex_normals

    v = np.asarray(template.vertices, np.float32)
    f = np.asarray(template.faces, np.int64)
    normals = vertex_normals(v, f)
    ao = ambient_occlusion(v, f, directions=48, resolution=192)
    region = _region_of_parts(template).astype(np.float32)
    anchors = getattr(template, "anchors", {}) or {}
    scalp = anchors.get("scalp_weight")
    scalp = np.full(len(v), -1.0, np.float32) if scalp is None else np.asarray(scalp, np.float32)
    attrs = np.concatenate(
        [v[f], normals[f], np.repeat(region[:, None, None], 3, axis=1), ao[f][..., None], scalp[f][..., None]], axis=2
    )  # [F, 3, 9]
    values, coverage = rasterize_uv(template.uvs, template.faces_uv, attrs, size, dilate=6)
    painted = coverage | (np.abs(values).sum(-1) > 0)
    rows, cols = np.nonzero(painted)
    vals = values[rows, cols]
    n = vals[:, 3:6]
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    maps = _TexelMaps(
        index=(rows, cols),
        position=vals[:, 0:3].astype(np.float64),
        normal=n.astype(np.float64),
        region=np.rint(vals[:, 6]).astype(np.int64),
        occlusion=np.clip(vals[:, 7], 0.0, 1.0).astype(np.float64),
        scalp=vals[:, 8].astype(np.float64),
    )
    maps.anchors = face_anchors(template)
    sk = maps.region == REGION_SKIN
    maps.skin = _skin_fields(maps.position[sk], maps.normal[sk], maps.anchors, maps.scalp[sk])
    if len(_MAP_CACHE) > 8:
        _MAP_CACHE.clear()
    _MAP_CACHE[key] = (template, maps)
    return maps


def _gauss(d2: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-d2 / (2.0 * sigma * sigma))


def _dist2(P: np.ndarray, c: np.ndarray, scale=(1.0, 1.0, 1.0)) -> np.ndarray:
    return (((P - c) / np.asarray(scale)) ** 2).sum(-1)


def _polyline_distance(P: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance of points [K, 3] to a polyline [n, 3] -> (distance [K], arc parameter 0..1 [K])."""
    a, b = line[:-1], line[1:]
    ab = b - a
    seg_len = np.linalg.norm(ab, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg_len)])
    t = np.einsum("kse,se->ks", P[:, None, :] - a[None], ab) / np.maximum(seg_len**2, 1e-12)
    t = np.clip(t, 0.0, 1.0)
    closest = a[None] + t[..., None] * ab[None]
    d = np.linalg.norm(P[:, None, :] - closest, axis=2)
    k = np.argmin(d, axis=1)
    rows = np.arange(len(P))
    s = (cum[k] + t[rows, k] * seg_len[k]) / max(cum[-1], 1e-12)
    return d[rows, k], s


@dataclass
class _SkinFields:
    """Appearance-independent fields at the skin texels of one template (cached with the maps).

    The noise bank holds several independent noise fields per scale; a subject mixes them with random
    weights, which gives a new pattern per subject at the cost of a weighted sum.
    """

    front: np.ndarray
    cheek: np.ndarray
    redness: np.ndarray
    pore_weight: np.ndarray
    freckle_zone: np.ndarray
    beard_line: np.ndarray  # beard mask at full stubble
    scalp: np.ndarray
    periorbital: np.ndarray
    bank: dict[str, np.ndarray]  # name -> [n_fields, K] float32


_BANK = {"blotch_lo": (2.0, 3, 4), "blotch_hi": (7.0, 2, 4), "pores": (150.0, 1, 3), "grain": (420.0, 1, 2),
         "freckles": (95.0, 1, 3), "freckles_lo": (30.0, 1, 2), "follicles": (260.0, 1, 2)}  # fmt: skip
"""Noise bank: name -> (frequency per world unit, octaves, number of fields)."""


def _skin_fields(P: np.ndarray, N: np.ndarray, A: FaceAnchors, scalp_weight: np.ndarray) -> _SkinFields:
    from head360.synth.noise import fbm3

    x, y, z = P[:, 0], P[:, 1], P[:, 2]
    ax = np.abs(x)
    eye_y = float(A.eye_centers[:, 1].mean())
    eye_x = float(np.abs(A.eye_centers[:, 0]).mean())
    eye_z = float(A.eye_centers[:, 2].mean())
    front = smoothstep(-0.1, 0.5, N[:, 2]) * smoothstep(eye_z - 0.6, eye_z - 0.1, z)
    cheek = sum(
        _gauss(_dist2(P, np.array([s * (eye_x + 0.13), eye_y - 0.3, eye_z + 0.12]), (1.0, 1.2, 1.6)), 0.13)
        for s in (1.0, -1.0)
    )
    nose = _gauss(_dist2(P, A.nose_tip), 0.09) + 0.6 * _gauss(_dist2(P, A.nose_tip + [0.0, 0.18, -0.12]), 0.08)
    ears = sum(_gauss(_dist2(P, e, (0.6, 1.0, 1.0)), 0.16) for e in A.ears)
    chin = _gauss(_dist2(P, A.chin + [0.0, 0.08, 0.05]), 0.12)
    forehead = _gauss(_dist2(P, np.array([0.0, eye_y + 0.45, eye_z + 0.2]), (2.0, 1.0, 1.0)), 0.18)
    redness = (1.0 * cheek + 0.9 * nose + 0.8 * ears + 0.4 * chin + 0.25 * forehead) * front.clip(0.3, 1.0)
    # around the eyes the skin is thinner and darker, most under the eye and in the inner corner
    periorbital = sum(
        _gauss(_dist2(P, e + np.array([0.0, -0.05, 0.05]), (1.1, 0.9, 1.0)), 0.075) for e in A.eye_centers
    )
    # beard: below a line from the sideburn over the cheek to above the upper lip; not behind the neck
    mouth_y = float(A.mouth_center[1])
    knots_x = [0.0, 0.3, 0.5, 0.68, 0.8]
    knots_y = [A.nose_tip[1] - 0.08, mouth_y + 0.1, mouth_y + 0.2, A.ears[0, 1] - 0.25, A.ears[0, 1] - 0.3]
    top = np.interp(ax, knots_x, knots_y)
    beard = smoothstep(top + 0.06, top - 0.12, y) * smoothstep(-0.25, 0.15, z)
    beard = beard * smoothstep(A.chin[1] - 0.45, A.chin[1] - 0.2, y)
    if (scalp_weight >= 0).all():
        scalp = np.clip(scalp_weight, 0.0, 1.0)
    else:
        scalp = smoothstep(A.hairline_y - 0.05, A.hairline_y + 0.08, y) * smoothstep(-0.2, 0.2, y - A.ears[0, 1] - 0.3)
    bank = {}
    for name, (freq, octaves, count) in _BANK.items():
        bank[name] = np.stack(
            [fbm3(P, freq, 7919 * (k + 1) + len(name), octaves=octaves).astype(np.float32) for k in range(count)]
        )
    return _SkinFields(
        front=front,
        cheek=cheek,
        redness=redness,
        pore_weight=0.5 + 0.5 * np.clip(cheek + nose, 0.0, 1.0),
        freckle_zone=np.clip(1.3 * cheek + 1.2 * nose + 0.6 * forehead, 0.0, 1.0) * front,
        beard_line=beard,
        scalp=scalp,
        periorbital=np.clip(periorbital, 0.0, 1.0),
        bank=bank,
    )


def _mix(bank: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A new noise field from a bank [n, K]: random unit-norm weights keep the spread of one field."""
    w = rng.normal(size=len(bank))
    w /= max(float(np.linalg.norm(w)), 1e-9)
    return np.tensordot(w.astype(np.float32), bank, axes=1)


def _paint_skin(ap: Appearance, P, N, ao, F: _SkinFields, A: FaceAnchors, rng: np.random.Generator) -> np.ndarray:
    """Skin albedo (linear RGB) [K, 3] at skin texels: tone, blotches, redness, pores, creases,
    freckles, stubble, then brows, lash lines and lips on top."""
    seed = int(rng.integers(0, 2**31 - 1))
    tone = ap.skin_tone
    base = srgb_to_linear(np.array(ap.skin_color))
    b1, b2 = _mix(F.bank["blotch_lo"], rng), _mix(F.bank["blotch_hi"], rng)
    blotch = ap.skin_blotchiness
    shade = 1.0 + blotch * (0.07 * b1 + 0.035 * b2)
    # redness: cheeks, nose, ears, chin, a little on the forehead
    red = 0.55 * F.redness * (0.3 + ap.skin_redness) + 0.2 * blotch * np.maximum(b2, 0.0)
    red = np.clip(red, 0.0, 1.0) * (1.0 - 0.55 * smoothstep(0.3, 0.95, tone))
    # pores and fine grain, strongest on the nose and cheeks
    shade = shade * (
        1.0 + ap.pores * (0.04 * _mix(F.bank["pores"], rng) * F.pore_weight + 0.02 * _mix(F.bank["grain"], rng))
    )
    # creases and cavities (baked occlusion): nasolabial folds, eye sockets, behind the ears
    shade = shade * (1.0 - 0.3 * (1.0 - ao) ** 1.2)
    col = base[None] * shade[:, None] * (1.0 - red[:, None] * np.array([-0.04, 0.2, 0.18]))
    col *= 1.0 - F.periorbital[:, None] * np.array([0.1, 0.13, 0.1])
    # freckles: small brown spots on the nose bridge, cheeks and forehead
    if ap.freckles > 0:
        f = _mix(F.bank["freckles"], rng) + 0.35 * _mix(F.bank["freckles_lo"], rng)
        lo = 0.35 - 0.2 * ap.freckles
        spots = smoothstep(lo, lo + 0.15, f) * F.freckle_zone * ap.freckles
        col *= 1.0 - spots[:, None] * np.array([0.25, 0.4, 0.5])
    hair_lin = srgb_to_linear(np.array(ap.hair_color))
    # stubble / beard shadow
    if ap.stubble > 0:
        follicles = smoothstep(-0.1, 0.35, _mix(F.bank["follicles"], rng))
        s = np.clip(ap.stubble * F.beard_line * (0.25 + 0.75 * follicles), 0.0, 1.0) * 0.35
        shadow = np.minimum(col * 0.6, hair_lin * 0.8 + col * 0.2) * np.array([0.93, 0.97, 1.04])
        col = col + (shadow - col) * s[:, None]
    # the scalp shows a faint shadow of the hair follicles (under short hair, on a shaved head)
    darker_hair = float(np.clip((base.mean() - hair_lin.mean()) / max(base.mean(), 1e-6), 0.0, 1.0))
    col = col * (1.0 - 0.12 * darker_hair * F.scalp)[:, None] + (0.04 * darker_hair * F.scalp)[:, None] * hair_lin
    col = _paint_brows(ap, P, N, col, A, seed)
    col = _paint_lashes(ap, P, col, A, seed)
    col = _paint_lips(ap, P, N, col, A, seed)
    return col


def _paint_brows(ap: Appearance, P, N, col, A: FaceAnchors, seed: int) -> np.ndarray:
    """Eyebrows as hair strokes along the brow line; hairs point up at the head, sideways in the body
    and slightly down at the tail, the upper and lower rows converging."""
    brow = srgb_to_linear(np.array(ap.brow_color))
    for side in (0, 1):
        c = A.eye_centers[side]
        sx = 1.0 if c[0] > 0 else -1.0
        X = (P[:, 0] - c[0]) * sx  # lateral from the eye centre
        Y = P[:, 1] - c[1]
        near = (X > -0.3) & (X < 0.35) & (Y > 0.05) & (Y < 0.36) & (P[:, 2] > c[2] - 0.1) & (N[:, 2] > -0.2)
        if not near.any():
            continue
        Xn, Yn = X[near], Y[near]
        arch = ap.brow_arch
        if A.brow_lines is not None:  # the template's brow line (its centre), lateral coordinates
            line = A.brow_lines[side]
            lx = (line[:, 0] - c[0]) * sx
            order = np.argsort(lx)
            lx, ly = lx[order], line[order, 1] - c[1]
            s = (Xn - lx[0]) / (lx[-1] - lx[0])
            yc = np.interp(Xn, lx, ly) + 0.035 * (arch - 0.4) * np.exp(-(((s - 0.65) / 0.25) ** 2))
        else:
            s = (Xn + 0.2) / 0.43  # 0 at the medial head, 1 at the tail
            yc = np.interp(s, [0.0, 0.3, 0.65, 1.0], [0.175, 0.19 + 0.015 * arch, 0.2 + 0.04 * arch, 0.165])
        half = np.interp(s, [0.0, 0.15, 0.6, 1.0], [0.042, 0.04, 0.03, 0.013]) * ap.brow_thickness
        t = (Yn - yc) / half
        mask = smoothstep(1.2, 0.65, np.abs(t)) * smoothstep(-0.06, 0.05, s) * smoothstep(1.06, 0.9, s)
        # hair direction (angle from lateral, in radians): up at the head, then lateral, then down
        alpha = np.radians(np.interp(s, [0.0, 0.12, 0.3, 0.75, 1.0], [80.0, 60.0, 25.0, 5.0, -15.0])) - 0.35 * t
        ca, sa = np.cos(alpha), np.sin(alpha)
        along = Xn * ca + Yn * sa
        across = -Xn * sa + Yn * ca
        n = value_noise2(np.stack([along, across], -1), (30.0, 220.0), seed + 40 + side)
        n2 = value_noise2(np.stack([along, across], -1), (45.0, 300.0), seed + 50 + side)
        strokes = smoothstep(0.05, 0.55, np.maximum(n, n2))
        cover = mask * ap.brow_density * (0.5 + 0.5 * strokes) * smoothstep(-0.1, 0.4, 1.0 - np.abs(t))
        cover = np.clip(cover * 1.3, 0.0, 0.92)
        sub = col[near]
        col[near] = sub + (brow - sub) * cover[:, None]
    return col


def _paint_lashes(ap: Appearance, P, col, A: FaceAnchors, seed: int) -> np.ndarray:
    """Dark lash lines along the lid margins (upper thick, lower thin), broken into hairs."""
    lash = np.array([0.012, 0.009, 0.008])
    for side in (0, 1):
        c = A.eye_centers[side]
        near = np.linalg.norm(P - c, axis=1) < A.eyeball_radius + 0.12
        if not near.any():
            continue
        Q = P[near]
        cover = np.zeros(len(Q))
        for line, width, strength in ((A.lid_upper[side], 0.016, 1.0), (A.lid_lower[side], 0.008, 0.55)):
            d, s = _polyline_distance(Q, line)
            ends = smoothstep(0.0, 0.12, s) * smoothstep(1.0, 0.8, s)
            hairs = 0.65 + 0.35 * value_noise2(np.stack([s, d], -1), (140.0, 40.0), seed + 60 + side)
            cover = np.maximum(cover, strength * smoothstep(width, 0.3 * width, d) * (0.4 + 0.6 * ends) * hairs)
        cover = np.clip(cover * ap.lash_darkness, 0.0, 1.0)
        sub = col[near]
        col[near] = sub + (lash - sub) * cover[:, None]
    return col


def _paint_lips(ap: Appearance, P, N, col, A: FaceAnchors, seed: int) -> np.ndarray:
    """Lip vermilion with a soft border, a Cupid's bow, vertical lines, darker where the lips meet."""
    w = A.mouth_half_width
    mc = A.mouth_center
    x, y, z = P[:, 0], P[:, 1], P[:, 2]
    near = (np.abs(x) < w + 0.05) & (np.abs(y - mc[1]) < 0.2) & (z > mc[2] - 0.3)
    if not near.any():
        return col
    xs, ys = x[near], y[near]
    order = np.argsort(A.mouth_line[:, 0])
    ym = np.interp(xs, A.mouth_line[order, 0], A.mouth_line[order, 1])
    u = np.clip(np.abs(xs) / w, 0.0, 1.0)
    h_up = 0.078 * (1.0 - u**2) ** 0.45 + 0.012 * np.exp(-(((np.abs(xs) - 0.055) / 0.03) ** 2))
    h_up -= 0.01 * np.exp(-((xs / 0.022) ** 2))  # the dip of the Cupid's bow
    h_lo = 0.095 * (1.0 - u**2) ** 0.6
    dy = ys - ym
    soft = 0.008
    m_up = smoothstep(h_up + soft, h_up - soft, dy) * (dy >= -0.002)
    m_lo = smoothstep(-h_lo - soft, -h_lo + soft, dy) * (dy < 0.002)
    corner = smoothstep(1.02, 0.9, np.abs(xs) / w)
    mask = np.clip(np.maximum(m_up, m_lo), 0.0, 1.0) * corner
    lip = srgb_to_linear(np.array(ap.lip_color))
    lines = value_noise2(np.stack([xs, ys], -1), (170.0, 14.0), seed + 70)
    shade = 1.0 + 0.07 * lines
    shade *= 1.0 - 0.3 * smoothstep(0.02, 0.0, np.abs(dy))  # where the lips meet
    shade *= 1.0 + 0.08 * np.exp(-((xs / 0.1) ** 2 + ((dy + 0.045) / 0.025) ** 2))  # fuller lower lip centre
    target = lip[None] * shade[:, None]
    sub = col[near]
    col[near] = sub + (target - sub) * mask[:, None]
    return col


def _eye_frame(axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    up = np.array([0.0, 1.0, 0.0])
    e1 = np.cross(up, axis)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(axis, e1)
    return e1, e2


def _paint_eyes(ap: Appearance, P, A: FaceAnchors, seed: int) -> np.ndarray:
    """Eyeballs: white sclera with faint veins and darker corners; iris with radial fibres, a
    lighter/darker ring around the pupil, a dark limbal ring; a black pupil centred on the gaze axis."""
    from head360.synth.noise import value_noise3

    col = np.zeros((len(P), 3))
    side = np.where(P[:, 0] > 0, 0, 1)
    if A.eye_centers[0, 0] < 0:
        side = 1 - side
    r = A.eyeball_radius
    iris_angle = math.asin(min(A.iris_radius / r, 0.95))
    pupil_angle = math.asin(min(0.0175 / r, 0.5))
    outer = srgb_to_linear(np.array(ap.iris_color))
    inner = srgb_to_linear(np.array(ap.iris_inner_color))
    sclera = srgb_to_linear(np.array(ap.sclera_tint))
    for k in (0, 1):
        sel = side == k
        if not sel.any():
            continue
        c, axis = A.eye_centers[k], A.eye_axes[k]
        d = P[sel] - c
        d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
        alpha = np.arccos(np.clip(d @ axis, -1.0, 1.0))
        e1, e2 = _eye_frame(axis)
        beta = np.arctan2(d @ e2, d @ e1)
        rho = alpha / iris_angle  # 0 at the pupil centre, 1 at the limbus
        polar = np.stack([beta / (2 * math.pi) + 0.5, rho], -1)
        fib = value_noise2(polar, (90.0, 5.0), seed + 80 + k, period=(90, None))
        fib2 = value_noise2(polar, (30.0, 2.5), seed + 82 + k, period=(30, None))
        collarette = 0.42 + 0.06 * value_noise2(polar, (12.0, 1.0), seed + 84 + k, period=(12, None))
        iris = outer[None] + (inner - outer)[None] * smoothstep(collarette + 0.06, collarette - 0.06, rho)[:, None]
        iris = iris * (1.0 + 0.28 * fib + 0.15 * fib2)[:, None]
        crypts = smoothstep(0.45, 0.75, value_noise2(polar, (40.0, 8.0), seed + 86 + k, period=(40, None)))
        iris = iris * (1.0 - 0.35 * crypts * (rho > 0.5))[:, None]
        iris = iris * (1.0 - 0.7 * smoothstep(0.8, 1.0, rho))[:, None]  # limbal ring
        pupil_rho = pupil_angle / iris_angle
        pupil = smoothstep(pupil_rho + 0.03, pupil_rho - 0.02, rho)
        iris = iris + (np.array([0.004, 0.004, 0.005]) - iris) * pupil[:, None]
        # sclera: veins towards the corners, darker and slightly warmer away from the iris
        Q = P[sel]
        veins = np.abs(value_noise3(Q, 45.0, seed + 88 + k)) < 0.035
        vein_w = smoothstep(iris_angle * 1.25, iris_angle * 2.3, alpha) * smoothstep(1.9, 1.3, alpha)
        s_col = np.tile(sclera, (len(Q), 1))
        s_col = s_col + (np.array([0.45, 0.08, 0.07]) - s_col) * (0.35 * veins * vein_w)[:, None]
        s_col = s_col * (1.0 - 0.35 * smoothstep(0.7, 1.3, alpha))[:, None] * np.array([1.0, 0.97, 0.93])
        s_col = s_col * (1.0 - 0.9 * smoothstep(1.6, 2.0, alpha))[:, None]  # the back of the eyeball
        blend = smoothstep(1.02, 0.98, rho)[:, None]
        col[sel] = s_col + (iris - s_col) * blend
    return col


def _paint_linings(ap: Appearance, P, A: FaceAnchors) -> np.ndarray:
    """Lid linings (conjunctiva behind the lid margins): skin-pink at the margin, red, darker deeper."""
    skin = srgb_to_linear(np.array(ap.skin_color))
    pink = srgb_to_linear(np.array([0.78, 0.42, 0.42]))
    col = np.zeros((len(P), 3))
    for side in (0, 1):
        sel = (P[:, 0] > 0) == (A.eye_centers[side, 0] > 0)
        if not sel.any():
            continue
        d = np.minimum(
            _polyline_distance(P[sel], A.lid_upper[side])[0], _polyline_distance(P[sel], A.lid_lower[side])[0]
        )
        margin = smoothstep(0.012, 0.002, d)[:, None]
        c = pink + (skin * 0.9 - pink) * margin
        col[sel] = c * (1.0 - 0.75 * smoothstep(0.01, 0.06, d))[:, None]
    return col


def _paint_mouth(ap: Appearance, P, region, A: FaceAnchors, seed: int) -> np.ndarray:
    """Teeth (off-white with a gum line), tongue (pink, papillae), cavity (dark red -> near black)."""
    from head360.synth.noise import value_noise3

    col = np.zeros((len(P), 3))
    depth = np.clip(A.mouth_center[2] - P[:, 2], 0.0, None)  # how far behind the lips
    teeth_lin = srgb_to_linear(np.array([0.88, 0.84, 0.74]))
    gum_lin = srgb_to_linear(np.array([0.74, 0.38, 0.4]))
    for reg, root_up in ((REGION_TEETH_UPPER, True), (REGION_TEETH_LOWER, False)):
        sel = region == reg
        if not sel.any():
            continue
        Q = P[sel]
        var = 1.0 + 0.05 * value_noise3(Q, 40.0, seed + 90) + 0.03 * value_noise3(Q, 150.0, seed + 91)
        c = teeth_lin[None] * var[:, None]
        c = c * np.array([1.0, 1.0, 0.97]) ** (4 * smoothstep(0.0, 0.2, depth[sel]))[:, None]  # yellower at the back
        ys = Q[:, 1]
        lo, hi = np.percentile(ys, 1), np.percentile(ys, 99)
        root = smoothstep(hi - 0.035, hi - 0.01, ys) if root_up else smoothstep(lo + 0.035, lo + 0.01, ys)
        c = c + (gum_lin - c) * root[:, None]
        col[sel] = c * (1.0 - 0.6 * smoothstep(0.15, 0.6, depth[sel]))[:, None]
    sel = region == REGION_TONGUE
    if sel.any():
        Q = P[sel]
        tongue = srgb_to_linear(np.array([0.78, 0.42, 0.44]))
        pap = 1.0 + 0.08 * value_noise3(Q, 160.0, seed + 92) + 0.05 * value_noise3(Q, 30.0, seed + 93)
        col[sel] = tongue[None] * pap[:, None] * (1.0 - 0.6 * smoothstep(0.2, 0.7, depth[sel]))[:, None]
    sel = region == REGION_CAVITY
    if sel.any():
        front = srgb_to_linear(np.array([0.5, 0.16, 0.16]))
        back = srgb_to_linear(np.array([0.08, 0.02, 0.02]))
        t = smoothstep(0.03, 0.45, depth[sel])[:, None]
        col[sel] = front + (back - front) * t
    return col


def paint_head_texture(
    appearance: Appearance, template, size: int = 1024, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Paint ``appearance`` into ``template``'s UV atlas -> [size, size, 3] uint8 sRGB (row 0 is v = 1).

    Skin with blotches, redness, pores, creases, optional freckles and stubble; eyebrows, lash lines
    and lips; eyeballs; teeth, tongue and mouth cavity. Every texel is painted from the 3D position
    of the template surface it maps to, so the atlas layout does not matter. ``rng`` varies the noise
    (pores, blotches, brow hairs, iris fibres); the same seed gives the same texture.
    """
    if not 64 <= size <= 8192:
        raise Head360Error(f"head texture size must be 64..8192, got {size}")
    rng = np.random.default_rng(0) if rng is None else rng
    maps = _texel_maps(template, size)
    A = maps.anchors
    P, region = maps.position, maps.region
    color = np.zeros((len(P), 3))
    skin = region == REGION_SKIN
    color[skin] = _paint_skin(appearance, P[skin], maps.normal[skin], maps.occlusion[skin], maps.skin, A, rng)
    seed = int(rng.integers(0, 2**31 - 1))
    eye = region == REGION_EYEBALL
    if eye.any():
        color[eye] = _paint_eyes(appearance, P[eye], A, seed)
    lining = region == REGION_LINING
    if lining.any():
        color[lining] = _paint_linings(appearance, P[lining], A)
    mouth = ~skin & ~eye & ~lining
    if mouth.any():
        color[mouth] = _paint_mouth(appearance, P[mouth], region[mouth], A, seed)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = to_uint8(linear_to_srgb(srgb_to_linear(np.array(appearance.skin_color))))
    image[maps.index] = to_uint8(linear_to_srgb(color))
    return image
