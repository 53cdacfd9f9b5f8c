"""Training augmentation moves labels exactly with the image (in normalised crop space)."""
import numpy as np
import torch

from app.tracking.crop import crop_px_to_norm
from models.augment import apply_affine, random_affine

S = 128


def marked_crops(rng, n, j):
    """Crops with background +1 and each joint marked by a 5x5 block of depth d at its pixel."""
    crops = np.ones((n, 1, S, S), np.float32)
    uvd = np.zeros((n, j, 3), np.float32)
    for i in range(n):
        px = rng.integers(35, S - 35, size=(j, 2))
        d = rng.uniform(-0.5, 0.5, size=j)
        for k in range(j):
            crops[i, 0, px[k, 1] - 2:px[k, 1] + 3, px[k, 0] - 2:px[k, 0] + 3] = d[k]
        uvd[i, :, :2] = crop_px_to_norm(px, S)
        uvd[i, :, 2] = d
    return torch.from_numpy(crops), torch.from_numpy(uvd)


def test_labels_follow_the_image_for_every_op():
    rng = np.random.default_rng(0)
    n, j = 24, 3
    crops, uvd = marked_crops(rng, n, j)
    g = torch.Generator().manual_seed(3)
    L, t, a, c = random_affine(n, torch.full((n,), 250.0), g)
    out, uvd2 = apply_affine(crops, uvd, L, t, a, c)
    assert out.min() >= -1 and out.max() <= 1
    for i in range(n):
        img = out[i, 0].numpy()
        for k in range(j):
            u, v, d = uvd2[i, k].numpy()
            if abs(u) > 0.9 or abs(v) > 0.9:
                continue                                   # moved out of the crop
            col, row = (np.array([u, v]) + 1) * S / 2 - 0.5
            patch = img[int(round(row)) - 1:int(round(row)) + 2, int(round(col)) - 1:int(round(col)) + 2]
            # The block's value after the depth map d' = a d + c sits under the transformed label.
            assert np.abs(patch - d).min() < 1e-5, (i, k)


def test_none_op_is_identity_and_background_stays_background():
    rng = np.random.default_rng(1)
    crops, uvd = marked_crops(rng, 4, 2)
    eye = torch.eye(2).repeat(4, 1, 1)
    out, uvd2 = apply_affine(crops, uvd, eye, torch.zeros(4, 2), torch.ones(4), torch.zeros(4))
    assert torch.allclose(out, crops, atol=1e-6) and torch.allclose(uvd2, uvd)
    # A pure depth shift pushes nothing into the background and keeps background at +1.
    out, _ = apply_affine(crops, uvd, eye, torch.zeros(4, 2), torch.ones(4), torch.full((4,), 0.2))
    assert torch.equal(out[crops == 1.0], torch.ones(int((crops == 1.0).sum())))
