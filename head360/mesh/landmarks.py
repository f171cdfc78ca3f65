"""The semantic landmark table: the classic 68-point face layout (iBUG / dlib order) and the
mediapipe face-mesh (468-point topology) index of each point.

"Right" is the subject's right (-x in the world, the LEFT of a frontal photo): mediapipe index 33 is
the subject's right eye's outer corner. The indices were checked by running mediapipe's
``solutions.face_mesh`` on ``skimage.data.astronaut()`` and drawing them on the photo (see
``tests/mesh/test_landmarks.py``, which repeats the check numerically).
"""

from __future__ import annotations

# (name, mediapipe face-mesh index) in the 68-point order
LANDMARKS_68: tuple[tuple[str, int], ...] = (
    # jaw contour, from the subject's right ear (image left) over the chin to the left ear
    ("jaw_00_right_ear", 127), ("jaw_01", 234), ("jaw_02", 93), ("jaw_03", 58), ("jaw_04", 172),
    ("jaw_05", 136), ("jaw_06", 149), ("jaw_07", 148), ("jaw_08_chin", 152), ("jaw_09", 377),
    ("jaw_10", 378), ("jaw_11", 365), ("jaw_12", 397), ("jaw_13", 288), ("jaw_14", 323),
    ("jaw_15", 454), ("jaw_16_left_ear", 356),
    # eyebrows: the right brow from its outer to its inner end, then the left brow inner -> outer
    ("brow_right_outer", 70), ("brow_right_1", 63), ("brow_right_mid", 105), ("brow_right_3", 66),
    ("brow_right_inner", 107), ("brow_left_inner", 336), ("brow_left_3", 296), ("brow_left_mid", 334),
    ("brow_left_1", 293), ("brow_left_outer", 300),
    # nose bridge (nasion -> tip) and nose base (right ala -> subnasale -> left ala)
    ("nose_bridge_nasion", 168), ("nose_bridge_1", 197), ("nose_bridge_2", 5), ("nose_tip", 1),
    ("nose_base_right_ala", 98), ("nose_base_right", 97), ("subnasale", 2), ("nose_base_left", 326),
    ("nose_base_left_ala", 327),
    # right eye: outer corner, upper lid (outer, inner third), inner corner, lower lid (inner, outer)
    ("eye_right_outer_corner", 33), ("eye_right_upper_outer", 160), ("eye_right_upper_inner", 158),
    ("eye_right_inner_corner", 133), ("eye_right_lower_inner", 153), ("eye_right_lower_outer", 144),
    # left eye: inner corner, upper lid (inner, outer), outer corner, lower lid (outer, inner)
    ("eye_left_inner_corner", 362), ("eye_left_upper_inner", 385), ("eye_left_upper_outer", 387),
    ("eye_left_outer_corner", 263), ("eye_left_lower_outer", 373), ("eye_left_lower_inner", 380),
    # outer lip contour: right corner, upper lip to the left corner, lower lip back
    ("mouth_right_corner", 61), ("lip_upper_outer_1", 39), ("lip_upper_outer_2", 37),
    ("lip_upper_outer_mid", 0), ("lip_upper_outer_4", 267), ("lip_upper_outer_5", 269),
    ("mouth_left_corner", 291), ("lip_lower_outer_5", 405), ("lip_lower_outer_4", 314),
    ("lip_lower_outer_mid", 17), ("lip_lower_outer_2", 84), ("lip_lower_outer_1", 181),
    # inner lip contour (the mouth line): right inner corner, upper lip edge, left inner corner, lower
    ("mouth_right_inner_corner", 78), ("lip_upper_inner_1", 82), ("lip_upper_inner_mid", 13),
    ("lip_upper_inner_3", 312), ("mouth_left_inner_corner", 308), ("lip_lower_inner_3", 317),
    ("lip_lower_inner_mid", 14), ("lip_lower_inner_1", 87),
)  # fmt: skip
assert len(LANDMARKS_68) == 68

# a few more mediapipe points the fitting can use (forehead centre, cheeks, iris is not a vertex)
EXTRA_LANDMARKS: tuple[tuple[str, int], ...] = (
    ("forehead_center", 151),
    ("cheek_right", 205),
    ("cheek_left", 425),
)
