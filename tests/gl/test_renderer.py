"""The mesh renderer against what the camera model predicts, on meshes built here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gl_test_meshes import icosphere, quad

from head360.cameras import Camera
from head360.errors import Head360Error
from head360.labels import Label

RES = 128


@pytest.fixture(scope="module")
def renderer(gl_context):
    from head360.gl.renderer import MeshRenderer

    r = MeshRenderer(RES, supersample=2, context=gl_context)
    yield r
    r.close()


@pytest.fixture(scope="module")
def sphere():
    return icosphere(4)


def _sphere_mesh(sphere, **kw):
    from head360.gl.renderer import RenderMesh

    v, f = sphere
    return RenderMesh(v, f, **kw)


def test_icosphere_faces_point_outwards(sphere):
    v, f = sphere
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    assert (np.einsum("ij,ij->i", n, v[f].mean(axis=1)) > 0).all()


def test_unit_sphere_is_a_disc_of_the_predicted_radius(renderer, sphere):
    renderer.set_scene([_sphere_mesh(sphere, label=Label.SKIN)])
    cam = Camera.orbit(25.0, -10.0, radius=5.0, focal=1.8)
    out = renderer.render(cam)
    d = 5.0
    radius_px = cam.focal * RES / math.sqrt(d * d - 1.0)  # tangent cone of a unit sphere
    area = out.alpha.astype(np.float64).sum() / 255.0
    assert area == pytest.approx(math.pi * radius_px**2, rel=0.01)
    ys, xs = np.nonzero(out.alpha >= 128)
    centre = cam.project(np.zeros((1, 3)), RES)[0]
    assert xs.mean() + 0.5 == pytest.approx(centre[0], abs=0.3)
    assert ys.mean() + 0.5 == pytest.approx(centre[1], abs=0.3)
    # the disc's edge lies where the prediction says, in every direction
    r = np.hypot(xs + 0.5 - centre[0], ys + 0.5 - centre[1])
    assert r.max() == pytest.approx(radius_px, abs=1.0)
    # a round disc: the background stays clean and the rgb is composited on white
    assert (out.rgb[out.alpha == 0] == 255).all()
    assert out.rgb[out.alpha == 255].mean() < 240


def test_depth_at_the_centre_is_distance_minus_radius(renderer, sphere):
    renderer.set_scene([_sphere_mesh(sphere)])
    for yaw, pitch, dist in ((0.0, 0.0, 7.0), (140.0, 20.0, 4.0)):
        cam = Camera.orbit(yaw, pitch, radius=dist)
        out = renderer.render(cam, outputs=("depth", "alpha"))
        c = RES // 2
        centre = out.depth[c - 1 : c + 1, c - 1 : c + 1]
        assert centre == pytest.approx(dist - 1.0, abs=2e-3)
        assert (out.depth[out.alpha == 0] == 0).all()
        covered = out.depth[out.alpha == 255]
        assert covered.min() >= dist - 1.0 - 1e-3 and covered.max() <= math.sqrt(dist * dist - 1) + 1e-3
    # an off-centre point of the sphere: depth = camera-space z of the surface point seen there
    cam = Camera.orbit(0.0, 0.0, radius=7.0)
    out = renderer.render(cam, outputs=("depth",))
    surface = np.array([[0.6, 0.0, 0.8]])
    u, v = cam.project(surface, RES)[0]
    assert out.depth[int(v), int(u)] == pytest.approx(cam.depth_of(surface)[0], abs=0.02)


def test_labels_are_per_face_and_never_blended(renderer):
    from head360.gl.renderer import RenderMesh

    v, f, _ = quad(half=1.2)
    # two triangles of one mesh with their own labels, a second mesh in front with one label
    face_label = np.array([Label.EYES, Label.NECK], dtype=np.uint8)
    back = RenderMesh(v, f, face_label=face_label, material="plain")
    fv, ff, _ = quad(z=0.5, half=0.5, x0=0.4, y0=0.1)
    front = RenderMesh(fv, ff, label=Label.SKIN, material="plain")
    cam = Camera.orbit(10.0, 5.0, radius=6.0)
    for scene in ([back, front], [front, back]):  # draw order must not matter: depth test
        renderer.set_scene(scene)
        out = renderer.render(cam)
        assert set(np.unique(out.label)) == {0, int(Label.SKIN), int(Label.EYES), int(Label.NECK)}
        # one label per pixel, and a pixel carries a label exactly when it is mostly covered
        assert ((out.label > 0) == (out.alpha >= 128)).all()
        # the front quad hides the back one where they overlap
        centre_front = cam.project(np.array([[0.4, 0.1, 0.5]]), RES)[0].astype(int)
        assert out.label[centre_front[1], centre_front[0]] == Label.SKIN
        # the diagonal splits the back quad: triangle (0,1,2) is below-right of it (EYES), (0,2,3) NECK
        p_eyes = cam.project(np.array([[0.9, -0.9, 0.0]]), RES)[0].astype(int)
        p_neck = cam.project(np.array([[-0.9, 0.9, 0.0]]), RES)[0].astype(int)
        assert out.label[p_eyes[1], p_eyes[0]] == Label.EYES
        assert out.label[p_neck[1], p_neck[0]] == Label.NECK
        assert out.depth[centre_front[1], centre_front[0]] == pytest.approx(
            cam.depth_of([[0.4, 0.1, 0.5]])[0], abs=0.01
        )


def test_textured_quad_is_the_right_way_up(renderer):
    from head360.gl.renderer import RenderMesh

    v, f, uv = quad(half=1.0)
    # an image as a user would paint it: row 0 at the top; quadrants red | green over blue | yellow
    tex = np.zeros((64, 64, 3), dtype=np.uint8)
    tex[:32, :32] = (230, 20, 20)
    tex[:32, 32:] = (20, 230, 20)
    tex[32:, :32] = (20, 20, 230)
    tex[32:, 32:] = (230, 230, 20)
    renderer.set_scene([RenderMesh(v, f, uvs=uv, faces_uv=f, texture=tex, material="plain")])
    cam = Camera.orbit(0.0, 0.0, radius=6.0)  # front view: world +x appears on the image's right
    out = renderer.render(cam, outputs=("rgb",))
    q = RES // 2
    h = int(cam.focal * RES / 6.0 / 2)  # half of the quad's half-size in pixels
    top_left, top_right = out.rgb[q - h, q - h].astype(int), out.rgb[q - h, q + h].astype(int)
    bottom_left, bottom_right = out.rgb[q + h, q - h].astype(int), out.rgb[q + h, q + h].astype(int)
    assert top_left[0] > top_left[1] + 60 and top_left[0] > top_left[2] + 60  # red
    assert top_right[1] > top_right[0] + 60 and top_right[1] > top_right[2] + 60  # green
    assert bottom_left[2] > bottom_left[0] + 60 and bottom_left[2] > bottom_left[1] + 60  # blue
    assert min(bottom_right[:2]) > bottom_right[2] + 60  # yellow


def test_uv_seams_use_separate_texture_indices(renderer):
    """A cube whose faces each show a different texture column: OBJ-style faces_uv, seams expanded."""
    from head360.gl.renderer import RenderMesh

    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float32)
    # +z face (x, y) corners: (-1,-1,1)=1, (1,-1,1)=5, (1,1,1)=7, (-1,1,1)=3 ; -z face: 4, 0, 2, 6
    faces = np.array([[1, 5, 7], [1, 7, 3], [4, 0, 2], [4, 2, 6]], dtype=np.int64)
    uvs = np.array([[0, 0], [0.5, 0], [0.5, 1], [0, 1], [0.5, 0], [1, 0], [1, 1], [0.5, 1]], dtype=np.float32)
    faces_uv = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]], dtype=np.int64)
    tex = np.zeros((8, 16, 3), dtype=np.uint8)
    tex[:, :8] = (230, 30, 30)  # front face: red
    tex[:, 8:] = (30, 30, 230)  # back face: blue
    renderer.set_scene([RenderMesh(v, faces, uvs=uvs, faces_uv=faces_uv, texture=tex, material="plain")])
    front = renderer.render(Camera.orbit(0.0, 0.0, radius=6.0), outputs=("rgb",)).rgb[RES // 2, RES // 2]
    back = renderer.render(Camera.orbit(180.0, 0.0, radius=6.0), outputs=("rgb",)).rgb[RES // 2, RES // 2]
    assert front[0] > front[2] + 60 and back[2] > back[0] + 60


def test_landmarks_match_camera_project_and_the_gl_pipeline(renderer, sphere):
    renderer.set_scene([_sphere_mesh(sphere)])
    rng = np.random.default_rng(3)
    points = rng.uniform(-1.4, 1.4, size=(300, 3))
    # an off-centre principal point catches sign and half-pixel mistakes that a centred one hides
    base = Camera.orbit(35.0, 15.0, radius=6.0, focal=1.9)
    cam = Camera(base.cam2world, focal=1.9, cx=0.46, cy=0.53)
    out = renderer.render(cam, landmarks=points, outputs=())
    np.testing.assert_allclose(out.landmarks_px, cam.project(points, RES), atol=0.5)
    ids = renderer.point_ids(cam, points)
    px = out.landmarks_px.astype(np.float64)
    frac = px - np.floor(px)
    clear = ((frac > 0.02) & (frac < 0.98)).all(axis=1) & ((px > 0) & (px < RES)).all(axis=1)
    checked = 0
    for i in np.nonzero(clear)[0]:
        ys, xs = np.nonzero(ids == i)
        if len(xs) == 0:  # drawn over by a later point in the same pixel
            continue
        assert len(xs) == 1
        assert abs(xs[0] + 0.5 - px[i, 0]) <= 0.5 and abs(ys[0] + 0.5 - px[i, 1]) <= 0.5, (i, xs, ys, px[i])
        checked += 1
    assert checked > 200


def test_landmark_behind_the_sphere_is_not_visible(renderer, sphere):
    renderer.set_scene([_sphere_mesh(sphere)])
    cam = Camera.orbit(0.0, 0.0, radius=7.0)
    points = np.array(
        [
            [0.0, 0.0, 1.0],  # on the front of the sphere, facing the camera
            [0.0, 0.0, -1.0],  # on the back
            [0.0, 0.0, -1.5],  # in the air behind the sphere
            [0.3, 0.2, 0.0],  # inside
            [1.2, 0.0, 0.0],  # in the air beside it
            [0.0, 0.6, 0.8],  # on the front, off-centre
            [0.0, 0.0, 9.0],  # behind the camera
        ]
    )
    out = renderer.render(cam, landmarks=points, outputs=())
    assert out.landmarks_visible.tolist() == [True, False, False, False, True, True, False]
    # seen from behind, the front point is hidden and the back one shows
    out = renderer.render(Camera.orbit(180.0, 0.0), landmarks=points[:2], outputs=())
    assert out.landmarks_visible.tolist() == [False, True]


def test_camera_only_change_renders_a_different_view(renderer, sphere):
    from head360.gl.renderer import RenderMesh

    v, f = sphere
    # a sphere with a label cap on +x: seen from +x it fills the centre, from -x it is hidden
    face_label = np.where(v[f].mean(axis=1)[:, 0] > 0.5, Label.HAIR, Label.SKIN).astype(np.uint8)
    renderer.set_scene([RenderMesh(v, f, face_label=face_label)])
    left = renderer.render(Camera.orbit(90.0, 0.0), outputs=("label",)).label
    right = renderer.render(Camera.orbit(-90.0, 0.0), outputs=("label",)).label
    assert left[RES // 2, RES // 2] == Label.HAIR and right[RES // 2, RES // 2] == Label.SKIN
    assert (right == Label.HAIR).sum() == 0


def test_update_vertices_moves_the_mesh(renderer, sphere):
    v, f = sphere
    renderer.set_scene([_sphere_mesh(sphere)])
    cam = Camera.orbit(0.0, 0.0, radius=7.0)
    before = renderer.render(cam, outputs=("alpha",)).alpha
    renderer.update_vertices(0, v * 0.5)
    after = renderer.render(cam, outputs=("alpha",)).alpha
    assert after.sum() == pytest.approx(before.sum() / 4, rel=0.03)
    with pytest.raises(Head360Error):
        renderer.update_vertices(0, v[:10])


def test_back_faces_are_dark(renderer):
    """Looking into an open shell: its inside must not show bright skin."""
    from head360.gl.renderer import RenderMesh

    v, f = icosphere(3)
    keep = v[f].mean(axis=1)[:, 2] < 0.3  # cut the front off: an open bowl facing the camera
    renderer.set_scene([RenderMesh(v, f[keep], material="skin")])
    out = renderer.render(Camera.orbit(0.0, 0.0, radius=6.0), outputs=("rgb",))
    inside = out.rgb[RES // 2 - 3 : RES // 2 + 3, RES // 2 - 3 : RES // 2 + 3].astype(float)
    outside = renderer.render(Camera.orbit(180.0, 0.0, radius=6.0), outputs=("rgb",)).rgb[RES // 2, RES // 2]
    assert inside.mean() < 40 and outside.astype(float).mean() > 120


def test_bad_meshes_raise_a_user_error(renderer):
    from head360.gl.renderer import RenderMesh

    v, f, uv = quad()
    with pytest.raises(Head360Error, match="faces"):
        renderer.set_scene([RenderMesh(v, f + 10)])
    with pytest.raises(Head360Error, match="material"):
        renderer.set_scene([RenderMesh(v, f, material="metal")])
    with pytest.raises(Head360Error, match="uvs"):
        renderer.set_scene([RenderMesh(v, f, texture=np.zeros((4, 4, 3), np.uint8))])
    with pytest.raises(Head360Error, match="outputs"):
        renderer.render(Camera.orbit(0.0), outputs=("normals",))


def test_a_camera_change_uploads_nothing(renderer, sphere, monkeypatch):
    """set_scene uploads once; render with a new camera only sets uniforms, draws and reads back."""
    from OpenGL import GL

    renderer.set_scene([_sphere_mesh(sphere)])
    calls: list[str] = []
    for name in ("glBufferData", "glBufferSubData", "glTexImage2D", "glTexSubImage2D", "glTexImage3D"):
        original = getattr(GL, name)

        def counting(*args, _name=name, _original=original, **kw):
            calls.append(_name)
            return _original(*args, **kw)

        monkeypatch.setattr(GL, name, counting)
    for yaw in (0.0, 45.0, 90.0):
        renderer.render(Camera.orbit(yaw, 10.0))
    assert calls == []
    renderer.update_vertices(0, sphere[0] * 1.1)  # a new pose does upload, positions and normals only
    assert calls == ["glBufferSubData", "glBufferSubData"]


def test_meshes_sharing_a_texture_upload_it_once(renderer, monkeypatch):
    """A head split by material (skin, eyes, mouth) passes one texture to several meshes."""
    from OpenGL import GL

    from head360.gl.renderer import RenderMesh

    v, f, uv = quad(half=1.0)
    texture = np.full((16, 16, 3), 200, np.uint8)
    meshes = [RenderMesh(v + [0, 0, 0.1 * k], f, uvs=uv, faces_uv=f, texture=texture) for k in range(3)]
    uploads: list[int] = []
    original = GL.glTexImage2D
    monkeypatch.setattr(GL, "glTexImage2D", lambda *a, **k: (uploads.append(1), original(*a, **k))[1])
    renderer.set_scene(meshes)
    assert len(uploads) == 1
    assert renderer.render(Camera.orbit(0.0, 0.0, radius=6.0), outputs=("alpha",)).alpha.max() == 255


def test_texture_alpha_cuts_holes_for_hair_cards(renderer):
    from head360.gl.renderer import RenderMesh

    v, f, uv = quad(half=1.0)
    texture = np.full((32, 32, 4), 120, np.uint8)
    texture[:, :16, 3] = 0  # the left half of the card is a hole
    texture[:, 16:, 3] = 255
    renderer.set_scene([RenderMesh(v, f, uvs=uv, faces_uv=f, texture=texture, material="hair", label=Label.HAIR)])
    out = renderer.render(Camera.orbit(0.0, 0.0, radius=6.0))
    q, h = RES // 2, int(1.0 * 2.1 * RES / 6.0 / 2)
    assert out.alpha[q, q - h] == 0 and out.label[q, q - h] == 0
    assert out.alpha[q, q + h] == 255 and out.label[q, q + h] == Label.HAIR
    # hair is lit from both sides: its back is not the dark inside of a shell
    back = renderer.render(Camera.orbit(180.0, 0.0, radius=6.0), outputs=("rgb",)).rgb
    assert back[q, q - h].astype(int).sum() > 3 * 40  # the opaque half, seen from behind (mirrored)
