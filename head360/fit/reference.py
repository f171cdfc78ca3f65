"""The reference image: the photo's face composited into a render of a synthetic head that wears the
chosen hairstyle (supplement A.3, step 2).

1. Skin tone: the synthetic render's skin is moved to the photo's skin colour in the gradient domain:
   a global colour transfer (mean/std per channel), then the remaining colour difference along the
   face seam is spread over the synthetic skin as a membrane (Laplace equation with the seam values
   fixed and no flux elsewhere), so the render keeps its own shading and texture and meets the photo
   without a step.
2. Neck: the photo's neck skin under the chin is Poisson-blended (``cv2.seamlessClone``) into the
   render's neck, where the two overlap.
3. Face: the photo's face (skin, eyes, mouth: the segmentation) is pasted with a feathered edge.

Everything is in the normalised crop (``head360.fit.normalize``). Images are uint8 ``[R, R, 3]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from head360.labels import Label


@dataclass
class Reference:
    """image: [R, R, 3] uint8 reference; weight: [R, R] float32 per-pixel weight of the fit loss
    (photo face 1, photo neck 0.5, synthetic pixels 0.2, nothing outside the photo); face: [R, R] bool,
    where the photo's face was pasted; synthetic: [R, R, 3] uint8 the tone-corrected synthetic render."""

    image: np.ndarray
    weight: np.ndarray
    face: np.ndarray
    synthetic: np.ndarray


def colour_transfer(values: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-channel affine map that moves the statistics of ``source`` pixels [N, 3] to ``target``'s,
    applied to ``values`` [..., 3] (float)."""
    ms, ss = source.mean(0), source.std(0) + 1e-3
    mt, st = target.mean(0), target.std(0) + 1e-3
    gain = np.clip(st / ss, 0.5, 2.0)
    return (values - ms) * gain + mt


def membrane(offsets: np.ndarray, fixed: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Harmonic interpolation: values [H, W, C] known where ``fixed`` (bool), solved inside ``region``
    (bool) with zero flux at its other borders. Returns [H, W, C] (zeros outside region and fixed)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    h, w = region.shape
    out = np.where(fixed[..., None], offsets, 0.0).astype(np.float64)
    unknown = region & ~fixed
    n = int(unknown.sum())
    if n == 0 or not fixed.any():
        return out
    index = -np.ones((h, w), np.int64)
    index[unknown] = np.arange(n)
    ys, xs = np.nonzero(unknown)
    rows, cols, vals = [], [], []
    rhs = np.zeros((n, offsets.shape[2]))
    diag = np.zeros(n)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        ny_c, nx_c = np.clip(ny, 0, h - 1), np.clip(nx, 0, w - 1)
        nb_unknown = inside & unknown[ny_c, nx_c]
        nb_fixed = inside & fixed[ny_c, nx_c]
        me = index[ys, xs]
        diag += nb_unknown | nb_fixed
        rows.append(me[nb_unknown])
        cols.append(index[ny_c[nb_unknown], nx_c[nb_unknown]])
        vals.append(-np.ones(int(nb_unknown.sum())))
        np.add.at(rhs, me[nb_fixed], offsets[ny_c[nb_fixed], nx_c[nb_fixed]])
    isolated = diag == 0
    diag[isolated] = 1.0
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    a = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)).tocsr()
    sol = spsolve(a, rhs)
    sol = sol.reshape(n, -1)
    # pixels cut off from every fixed value keep no offset
    from scipy import ndimage

    lab, _ = ndimage.label(region | fixed)
    reach = np.isin(lab, np.unique(lab[fixed]))
    sol[~reach[unknown]] = 0.0
    out[unknown] = sol
    return out


def _masked_blur(image: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``image`` [H, W, C] using only the pixels in ``mask`` (normalised convolution)."""
    import cv2

    m = mask.astype(np.float64)
    num = cv2.GaussianBlur(image * m[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(m, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-6)


def make_reference(
    photo: np.ndarray,
    labels: np.ndarray,
    valid: np.ndarray,
    synthetic: np.ndarray,
    synthetic_head: np.ndarray,
    synthetic_hair: np.ndarray,
    chin_y: float,
) -> Reference:
    """photo [R, R, 3] uint8 (normalised) with its labels [R, R] (``Label``) and valid [R, R] bool;
    synthetic [R, R, 3] uint8 render of the synthetic head with hair; synthetic_head [R, R] float in
    0..1, where the render shows the head (no hair) and synthetic_hair [R, R] float where it shows hair;
    chin_y: the chin's row in the normalised crop."""
    import cv2

    r = photo.shape[0]
    photo_f = photo.astype(np.float64)
    syn = synthetic.astype(np.float64)
    face = np.isin(labels, [int(Label.SKIN), int(Label.EYES), int(Label.MOUTH_INTERIOR)]) & valid
    face = cv2.morphologyEx(face.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    num, comp, stats, _ = cv2.connectedComponentsWithStats(face)
    if num > 1:  # the face is one piece: drop skin-coloured specks elsewhere (highlights in the hair)
        face = comp == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    face = face.astype(bool)
    inner = cv2.erode(face.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, r // 128)).astype(bool)
    photo_skin = (labels == int(Label.SKIN)) & inner
    syn_skin = (synthetic_head > 0.5) & (synthetic_hair < 0.3)

    # 1. tone: global transfer from the synthetic face skin to the photo's, then a membrane over the seam
    syn_face_skin = syn_skin & inner
    corrected = syn.copy()
    if syn_face_skin.sum() > 30 and photo_skin.sum() > 30:
        moved = colour_transfer(syn[syn_skin], syn[syn_face_skin], photo_f[photo_skin])
        corrected[syn_skin] = moved
        seam = face & ~inner & syn_skin  # a thin band inside the face's border
        blur_p = _masked_blur(photo_f, face, 2.0)  # colours of the face alone (no background bleeding in)
        blur_s = _masked_blur(corrected, syn_skin, 2.0)
        delta = membrane(blur_p - blur_s, seam, syn_skin & ~face)
        corrected[syn_skin & ~face] += delta[syn_skin & ~face]
    corrected = np.clip(corrected, 0, 255)
    out = corrected.astype(np.uint8)

    # 2. neck: Poisson-blend the photo's neck skin into the render's neck
    rows = np.arange(r)[:, None] * np.ones((1, r))
    neck = (labels == int(Label.NECK)) & valid & syn_skin & (rows > chin_y) & (rows < chin_y + 0.25 * r)
    ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb).astype(np.float64)
    if photo_skin.sum() > 30:
        mu = ycc[photo_skin].mean(0)
        sd = ycc[photo_skin].std(0) + np.array([20.0, 4.0, 4.0])
        neck &= (np.abs((ycc - mu) / sd) < 2.5).all(-1)
    neck = cv2.morphologyEx(neck.astype(np.uint8), cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)).astype(bool)
    if neck.sum() > 50:
        ys, xs = np.nonzero(neck)
        y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
        if y0 > 1 and x0 > 1 and y1 < r - 2 and x1 < r - 2:
            mask = (neck * 255).astype(np.uint8)
            centre = (int((x0 + x1 + 1) // 2), int((y0 + y1 + 1) // 2))
            out = cv2.seamlessClone(photo, out, mask, centre, cv2.NORMAL_CLONE)

    # 3. face: the photo itself, feathered over two pixels
    alpha = cv2.GaussianBlur(face.astype(np.float32), (0, 0), 1.0)
    alpha = np.where(inner, 1.0, alpha)[..., None]
    image = (photo_f * alpha + out.astype(np.float64) * (1 - alpha)).round().astype(np.uint8)

    weight = np.full((r, r), 0.2, np.float32)
    weight[neck] = 0.5
    weight[face] = 1.0
    weight[~valid & ~(synthetic_head > 0.5)] = 0.2
    return Reference(image, weight, face, out)
