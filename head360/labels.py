"""Semantic label ids of the label maps the renderer writes and the segmentation uses."""

from enum import IntEnum


class Label(IntEnum):
    BACKGROUND = 0
    SKIN = 1
    HAIR = 2
    EYES = 3
    MOUTH_INTERIOR = 4
    NECK = 5  # neck and body below the jaw line


LABEL_COLORS: dict[int, tuple[int, int, int]] = {
    Label.BACKGROUND: (0, 0, 0),
    Label.SKIN: (230, 180, 140),
    Label.HAIR: (120, 70, 20),
    Label.EYES: (60, 140, 255),
    Label.MOUTH_INTERIOR: (220, 30, 60),
    Label.NECK: (150, 220, 120),
}
