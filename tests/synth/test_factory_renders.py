"""What a person sees in the data factory's renders: expressions do what their names say, identities
differ, and the camera labels agree with the pixels."""

import numpy as np
import pytest

from head360.arkit import index_of
from head360.cameras import Camera, rig_camera

RES = 256
TEETH, IRIS_LEFT, IRIS_RIGHT, OTHER = 10, 11, 12, 1


@pytest.fixture(scope="module")
def subject():
    from head360.synth.subject import SubjectAssets, sample_subject

    return SubjectAssets.build(sample_subject(0, 0), texture_size=256)


@pytest.fixture(scope="module")
def renderer():
    from head360.gl.renderer import MeshRenderer

    return MeshRenderer(RES)


def _part_labels(template, vertices):
    """Per-face ids: teeth, the central iris disc of each eye, everything else."""
    from head360.mesh.template import Part

    labels = np.full(len(template.faces), OTHER, np.uint8)
    labels[np.isin(template.face_part, (int(Part.TEETH_UPPER), int(Part.TEETH_LOWER)))] = TEETH
    centroids = vertices[template.faces].mean(axis=1)
    for part, side, label in ((Part.EYEBALL_LEFT, "left", IRIS_LEFT), (Part.EYEBALL_RIGHT, "right", IRIS_RIGHT)):
        on_eye = template.face_part == int(part)
        centre = vertices[template.vertex_part == int(part)].mean(axis=0)
        d = centroids - centre
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        # the eyeball turns with eyeLook*, so find its current forward axis from the pupil's neighbourhood
        forward = np.asarray(template.anchors[f"iris_direction_{side}"], np.float64)
        labels[on_eye & (d @ forward > np.cos(np.radians(22)))] = label
    return labels


def _front_counts(renderer, subject, weights):
    from head360.gl.renderer import RenderMesh

    t = subject.template
    v = subject.vertices(weights)
    renderer.set_scene([RenderMesh(vertices=v, faces=t.faces, face_label=_part_labels(t, v), material="plain")])
    out = renderer.render(Camera.orbit(0.0, 0.0), landmarks=v[[lm.vertex for lm in t.landmarks]])
    counts = {k: int((out.label == k).sum()) for k in (TEETH, IRIS_LEFT, IRIS_RIGHT)}
    return counts, out


def _weights(**named):
    w = np.zeros(52, np.float32)
    for name, value in named.items():
        w[index_of(name)] = value
    return w


def test_jaw_open_lowers_the_chin_and_uncovers_teeth(renderer, subject):
    closed, out_closed = _front_counts(renderer, subject, _weights())
    opened, out_open = _front_counts(renderer, subject, _weights(jawOpen=1.0))
    assert closed[TEETH] < 10, "teeth show through closed lips"
    assert opened[TEETH] > 150, "an open jaw must show the teeth from the front"
    chin = [lm.name for lm in subject.template.landmarks].index("jaw_08_chin")
    drop = out_open.landmarks_px[chin, 1] - out_closed.landmarks_px[chin, 1]
    assert drop > 0.03 * RES, f"the chin moved down only {drop:.1f} px"


def test_blink_left_hides_the_left_iris_only(renderer, subject):
    open_, _ = _front_counts(renderer, subject, _weights())
    blink, _ = _front_counts(renderer, subject, _weights(eyeBlinkLeft=1.0))
    assert open_[IRIS_LEFT] > 12 and open_[IRIS_RIGHT] > 12
    assert blink[IRIS_LEFT] == 0, f"{blink[IRIS_LEFT]} px of the left iris still visible"
    assert blink[IRIS_RIGHT] > 0.8 * open_[IRIS_RIGHT]


def test_left_is_the_subjects_left(renderer, subject):
    """eyeBlinkLeft closes the eye on the image's right in a front view (the subject's left)."""
    left_iris_cols = np.nonzero(_front_counts(renderer, subject, _weights())[1].label == IRIS_LEFT)[1]
    assert left_iris_cols.mean() > RES / 2


def test_different_shape_codes_give_different_silhouettes(renderer):
    from head360.gl.renderer import RenderMesh
    from head360.mesh.store import default_mesh_model

    model = default_mesh_model()
    masks = []
    for code in ([2.0] + [0.0] * 49, [-2.0] + [0.0] * 49, list(np.random.default_rng(1).standard_normal(50))):
        v = model.vertices_np(np.asarray(code, np.float32))
        renderer.set_scene([RenderMesh(vertices=v, faces=model.faces, label=1, material="plain")])
        masks.append(np.concatenate([renderer.render(Camera.orbit(y, 0.0)).alpha > 127 for y in (0.0, 90.0)]))
    for a in range(3):
        for b in range(a + 1, 3):
            differ = int((masks[a] ^ masks[b]).sum())  # pixels inside one silhouette but not the other
            assert differ > 400, f"codes {a} and {b} give nearly the same silhouette ({differ} px differ)"


def test_projected_landmarks_land_on_the_rendered_ones(renderer, subject):
    """The EG3D label of a rig view projects 3D landmarks to where OpenGL draws them (within 1 px)."""
    from head360.gl.renderer import RenderMesh

    t = subject.template
    v = subject.vertices(_weights(mouthSmileLeft=0.7))
    points = v[[lm.vertex for lm in t.landmarks]]
    renderer.set_scene([RenderMesh(vertices=v, faces=t.faces, label=1, material="plain")])
    for view in (0, 3, 21, 30, 50):
        label = rig_camera(view).label()
        projected = Camera.from_label(label).project(points, RES)
        ids = renderer.point_ids(rig_camera(view), points)
        rows, cols = np.nonzero(ids >= 0)
        drawn = {int(ids[r, c]): (c + 0.5, r + 0.5) for r, c in zip(rows, cols, strict=True)}
        assert len(drawn) > 10
        err = np.array([np.hypot(*(projected[i] - np.array(xy))) for i, xy in drawn.items()])
        assert err.max() <= 1.0, f"view {view}: landmark off by {err.max():.2f} px"
