"""Batch transforms: hand-checked values, identities, shapes, seeded reproducibility, torch parity, errors."""
import numpy as np
import pytest
import torch

from cnnlab.data import (
    Compose,
    Normalize,
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomShift,
    ToFloat,
    rotate_translate,
)


def gen(seed=0):
    return np.random.default_rng(seed)


def batch(n=4, c=2, h=5, w=6, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def test_tofloat_scales_uint8_to_unit_interval():
    x = np.array([0, 51, 102, 255], np.uint8).reshape(1, 1, 2, 2)
    out = ToFloat()(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.ravel(), [0, 0.2, 0.4, 1], rtol=1e-6)
    same = batch()
    assert ToFloat()(same) is same
    with pytest.raises(TypeError, match="ToFloat: expects uint8 images or a float batch; got dtype int16"):
        ToFloat()(x.astype(np.int16))


def test_normalize_per_channel_by_hand():
    x = np.zeros((1, 2, 1, 2), np.float32)
    x[0, 0] = [[1.0, 3.0]]
    x[0, 1] = [[10.0, 20.0]]
    out = Normalize(mean=(1.0, 10.0), std=(2.0, 5.0))(x)
    np.testing.assert_allclose(out[0, 0], [[0.0, 1.0]])
    np.testing.assert_allclose(out[0, 1], [[0.0, 2.0]])
    assert out.dtype == np.float32
    np.testing.assert_allclose(Normalize(0.5, 0.5)(np.ones((1, 3, 1, 1), np.float32)), 1.0)


def test_normalize_errors():
    with pytest.raises(ValueError, match=r"Normalize: every std must be positive; got std=\(1.0, 0.0\)"):
        Normalize((0.0, 0.0), (1.0, 0.0))
    with pytest.raises(ValueError, match="Normalize: mean and std must have the same number of values; got 2 and 3"):
        Normalize((0.0, 0.0), (1.0, 1.0, 1.0))
    with pytest.raises(TypeError, match=r"Normalize: expects a float batch; got dtype uint8 \(put ToFloat\(\) first\)"):
        Normalize(0.5, 0.5)(np.zeros((1, 1, 2, 2), np.uint8))
    with pytest.raises(
        ValueError,
        match=r"Normalize: needs one mean/std per channel \(3\) or a single value; "
        r"got 2 for a batch of shape \(1, 3, 2, 2\)",
    ):
        Normalize((0.0, 0.0), (1.0, 1.0))(np.zeros((1, 3, 2, 2), np.float32))


def test_transforms_require_nchw_batches():
    with pytest.raises(
        ValueError,
        match=r"RandomCrop: expects a batch of images of shape \(N, C, H, W\); got shape \(28, 28\)",
    ):
        RandomCrop(28)(np.zeros((28, 28)))


def test_crop_full_size_without_padding_is_identity():
    x = batch()
    np.testing.assert_array_equal(RandomCrop((5, 6), padding=0)(x, gen()), x)


def test_crop_with_padding_by_hand():
    x = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)
    seen = set()
    for seed in range(40):
        out = RandomCrop(2, padding=1)(x, gen(seed))
        seen.add(out.tobytes())
        padded = np.pad(x[0, 0], 1)
        windows = [padded[i : i + 2, j : j + 2] for i in range(3) for j in range(3)]
        assert any(np.array_equal(out[0, 0], w) for w in windows)
    assert len(seen) == 9  # every one of the 3x3 offsets shows up


def test_crop_offsets_differ_per_sample_and_match_a_naive_loop():
    x = batch(n=16, h=8, w=8)
    out = RandomCrop((5, 4), padding=2)(x, gen(7))
    assert out.shape == (16, 2, 5, 4)
    g = gen(7)
    top, left = g.integers(0, 8, size=16), g.integers(0, 9, size=16)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    naive = np.stack([padded[i, :, top[i] : top[i] + 5, left[i] : left[i] + 4] for i in range(16)])
    np.testing.assert_array_equal(out, naive)
    assert len({(t, l) for t, l in zip(top, left)}) > 1


def test_crop_errors():
    with pytest.raises(
        ValueError,
        match=r"RandomCrop: size must fit in the padded image; got size=\(9, 9\) for images of 5x6 with padding=1",
    ):
        RandomCrop(9, padding=1)(batch())
    with pytest.raises(ValueError, match=r"RandomCrop: size must be a positive int or a pair of them; got size=0"):
        RandomCrop(0)
    with pytest.raises(ValueError, match=r"RandomCrop: padding must be a non-negative int; got padding=-1"):
        RandomCrop(3, padding=-1)


def test_shift_moves_content_by_whole_pixels_with_zero_fill():
    x = np.zeros((64, 1, 5, 5), np.float32)
    x[:, 0, 2, 2] = 1.0
    out = RandomShift(2)(x, gen(1))
    assert out.shape == x.shape
    n, rows, cols = np.nonzero(out[:, 0])
    assert out.sum() == 64 and list(n) == list(range(64))  # the dot survives once per image
    assert set(rows) == set(cols) == {0, 1, 2, 3, 4}  # shifts of -2..2 both ways
    with pytest.raises(ValueError, match=r"RandomShift: max_shift must be a non-negative int; got max_shift=1.5"):
        RandomShift(1.5)


def test_flip_twice_is_identity_and_flip_reverses_columns():
    x = batch()
    flip = RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(flip(x, gen()), x[..., ::-1])
    np.testing.assert_array_equal(flip(flip(x, gen()), gen()), x)
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x, gen()), x)
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip: p must be a probability in \[0, 1\]; got p=1.5"):
        RandomHorizontalFlip(1.5)


def test_flip_draws_per_sample():
    x = batch(n=200)
    out = RandomHorizontalFlip()(x, gen(2))
    flipped = np.all(out == x[..., ::-1], axis=(1, 2, 3))
    kept = np.all(out == x, axis=(1, 2, 3))
    assert np.all(flipped | kept) and 60 < flipped.sum() < 140


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_rotation_by_90_degrees_is_rot90(interpolation):
    x = batch(h=5, w=5)
    out = rotate_translate(x, np.full(4, 90.0), np.zeros((4, 2)), interpolation)
    np.testing.assert_allclose(out, np.rot90(x, axes=(2, 3)), atol=1e-6)


def test_whole_pixel_shift_by_hand():
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
    out = rotate_translate(x, [0.0], [[1.0, 0.0]])  # one pixel right
    np.testing.assert_allclose(out[0, 0], [[0, 1, 2], [0, 4, 5], [0, 7, 8]], atol=1e-6)


def test_rotate_translate_matches_torch_grid_sample():
    x = batch(n=3, c=2, h=7, w=7).astype(np.float64)
    angles, shifts = np.array([17.0, -33.0, 5.0]), np.array([[0.7, -1.2], [0.0, 0.0], [2.5, 0.3]])
    scale = 2 / (7 - 1)  # pixels -> normalised coordinates (align_corners=True)
    t = np.deg2rad(angles)
    inverse = np.stack([np.stack([np.cos(t), -np.sin(t)], -1), np.stack([np.sin(t), np.cos(t)], -1)], 1)
    offset = -(inverse @ (shifts * scale)[..., None])
    theta = torch.tensor(np.concatenate([inverse, offset], -1))
    grid = torch.nn.functional.affine_grid(theta, (3, 2, 7, 7), align_corners=True)
    expected = torch.nn.functional.grid_sample(torch.tensor(x), grid, align_corners=True, padding_mode="zeros")
    np.testing.assert_allclose(rotate_translate(x, angles, shifts), expected.numpy(), atol=1e-10)


def test_random_affine_shapes_dtype_and_reproducibility():
    x = batch(n=8, h=12, w=10)
    affine = RandomAffine(degrees=15, translate=(0.1, 0.2))
    a, b = affine(x, gen(3)), affine(x, gen(3))
    assert a.shape == x.shape and a.dtype == x.dtype
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, affine(x, gen(4)))
    np.testing.assert_allclose(RandomAffine(0)(x, gen()), x, atol=1e-6)
    u8 = (x * 255).astype(np.uint8)
    assert affine(u8, gen()).dtype == np.uint8


def test_random_affine_errors():
    with pytest.raises(
        ValueError,
        match=r"RandomAffine: degrees must be non-negative when a single number; got degrees=-5",
    ):
        RandomAffine(-5)
    with pytest.raises(
        ValueError,
        match=r"RandomAffine: degrees must be a number or a pair \(lo, hi\) with lo <= hi; "
        r"got degrees=\(10.0, -10.0\)",
    ):
        RandomAffine((10, -10))
    with pytest.raises(
        ValueError,
        match=r"RandomAffine: translate must be None or a pair of fractions in \[0, 1\]; got translate=\(0.1, 2.0\)",
    ):
        RandomAffine(5, translate=(0.1, 2))
    with pytest.raises(ValueError, match=r"RandomAffine: interpolation must be 'bilinear' or 'nearest'; got 'cubic'"):
        RandomAffine(5, interpolation="cubic")


def test_compose_chains_and_is_reproducible_with_a_seeded_generator():
    x = (batch(n=6, c=3, h=8, w=8) * 255).astype(np.uint8)
    steps = [ToFloat(), RandomCrop(8, padding=2), RandomHorizontalFlip(), RandomAffine(10), Normalize(0.5, 0.25)]
    pipeline = Compose(steps + [lambda b: b * 2])
    a, b = pipeline(x, gen(9)), pipeline(x, gen(9))
    assert a.shape == (6, 3, 8, 8) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="Compose: every transform must be callable; item 1 is a int"):
        Compose([ToFloat(), 3])


def test_reprs_are_quiet():
    assert repr(RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"
    assert repr(RandomHorizontalFlip()) == "RandomHorizontalFlip()"
    assert repr(Normalize(0.1307, 0.3081)) == "Normalize(mean=0.1307, std=0.3081)"
