"""The 52 ARKit blendshape names, in Apple's ``ARFaceAnchor.BlendShapeLocation`` order.

This order is the order of the blendshape weight vector ``b`` (shape ``[52]``) everywhere in the
project. Live Link Face CSVs use their own column order (``head360.anim.arkit_io.LIVE_LINK_ORDER``) and
are read by name.
"""

from __future__ import annotations

from head360.errors import Head360Error

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)  # fmt: skip
NUM_BLENDSHAPES = len(ARKIT_NAMES)
assert NUM_BLENDSHAPES == 52

NEUTRAL = "neutral"
"""Name of the expression with all 52 weights at zero (datasets list it first)."""

INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}
_LOWER: dict[str, int] = {name.lower(): i for i, name in enumerate(ARKIT_NAMES)}

GROUPS: dict[str, tuple[str, ...]] = {
    "brows": ("browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
    "eye left": tuple(n for n in ARKIT_NAMES if n.startswith("eye") and n.endswith("Left")),
    "eye right": tuple(n for n in ARKIT_NAMES if n.startswith("eye") and n.endswith("Right")),
    "jaw": ("jawForward", "jawLeft", "jawRight", "jawOpen"),
    "mouth": tuple(n for n in ARKIT_NAMES if n.startswith("mouth")),
    "cheeks": ("cheekPuff", "cheekSquintLeft", "cheekSquintRight"),
    "nose": ("noseSneerLeft", "noseSneerRight"),
    "tongue": ("tongueOut",),
}
assert sum(len(v) for v in GROUPS.values()) == NUM_BLENDSHAPES


def mirror_name(name: str) -> str:
    """The same blendshape on the other side (``eyeBlinkLeft`` -> ``eyeBlinkRight``); unsided names
    (and ``jawLeft``/``mouthLeft``-style sideways motions, which mirror to their opposite) included."""
    if name.endswith("Left"):
        return name[: -len("Left")] + "Right"
    if name.endswith("Right"):
        return name[: -len("Right")] + "Left"
    return name


def canonical_name(name: str) -> str:
    """Map a name case-insensitively to its ARKit spelling (``EyeBlinkLeft`` -> ``eyeBlinkLeft``).

    Raises Head360Error for an unknown name, listing a few close names.
    """
    key = name.strip().lower()
    if key in _LOWER:
        return ARKIT_NAMES[_LOWER[key]]
    close = [n for n in ARKIT_NAMES if key[:4] and n.lower().startswith(key[:4])][:4]
    hint = f" (did you mean {', '.join(close)}?)" if close else " (run `python main.py blendshapes` to list them)"
    raise Head360Error(f"unknown blendshape name '{name}'{hint}")


def index_of(name: str) -> int:
    """Position of a blendshape (any capitalisation) in the 52-vector."""
    return INDEX[canonical_name(name)]
