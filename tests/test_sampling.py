"""affine_grid and grid_sample: finite differences, naive loops, PyTorch parity and error messages."""
import math

import numpy as np
import pytest

import cnnlab
import cnnlab.functional as F
from helpers import assert_close, check_op, gradcheck, raises

torch = pytest.importorskip("torch")
TF = torch.nn.functional

DTYPES = [np.float32, np.float64]
MODES = ["bilinear", "nearest"]
PADDING_MODES = ["zeros", "border", "reflection"]


def _identity_theta(batch, k):
    return np.tile(np.eye(k, k + 1), (batch, 1, 1))


def _pixel_positions(size, align_corners):
    """Normalised coordinate of each pixel along an axis, straight from the definition."""
    if align_corners:
        return np.array([-1 + 2 * j / (size - 1) if size > 1 else 0.0 for j in range(size)])
    return np.array([(2 * j + 1) / size - 1 for j in range(size)])


def _normalise(index, size, align_corners):
    """Inverse of grid_sample's unnormalisation: the grid coordinate that reads pixel ``index``."""
    return 2 * index / (size - 1) - 1 if align_corners else (2 * index + 1) / size - 1


def _grid_off_kinks(rng, batch, out, spatial, align_corners, low=-2):
    """Grid whose pixel coordinates are ``integer + f`` with f in [0.1, 0.4] or [0.6, 0.9]: no interpolation,
    clipping or reflection kink within reach of a finite difference."""
    columns = []
    for size in reversed(spatial):  # grid holds x (last axis) first
        whole = rng.integers(low, size + 1, (batch,) + out)
        part = rng.uniform(0.1, 0.4, whole.shape) + 0.5 * rng.integers(0, 2, whole.shape)
        columns.append(_normalise(whole + part, size, align_corners))
    return np.stack(columns, axis=-1)


# ------------------------------------------------------------------ naive references
def _reflect_naively(index, low, high):
    """Mirror ``index`` at ``low`` and ``high`` until it lies between them."""
    if low == high:
        return low
    while not low <= index <= high:
        index = 2 * low - index if index < low else 2 * high - index
    return index


def naive_grid_sample(image, grid, padding_mode, align_corners):
    """Bilinear sampling one output pixel and one corner at a time (d2l corr2d style)."""
    n, c, h, w = image.shape
    out = np.zeros((n, c) + grid.shape[1:3])
    for b in range(n):
        for i in range(grid.shape[1]):
            for j in range(grid.shape[2]):
                x, y = (_unnormalise_naively(v, size, padding_mode, align_corners)
                        for v, size in zip(grid[b, i, j], (w, h)))
                x0, y0 = math.floor(x), math.floor(y)
                for yy in (y0, y0 + 1):
                    for xx in (x0, x0 + 1):
                        if 0 <= yy < h and 0 <= xx < w:
                            out[b, :, i, j] += image[b, :, yy, xx] * (1 - abs(x - xx)) * (1 - abs(y - yy))
    return out


def _unnormalise_naively(v, size, padding_mode, align_corners):
    index = (v + 1) / 2 * (size - 1) if align_corners else ((v + 1) * size - 1) / 2
    if padding_mode == "reflection":
        index = _reflect_naively(index, 0, size - 1) if align_corners else _reflect_naively(index, -0.5, size - 0.5)
    if padding_mode in ("border", "reflection"):
        index = min(max(index, 0), size - 1)
    return index


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_matches_naive_loop(rng, padding_mode, align_corners):
    image = rng.standard_normal((2, 3, 4, 5))
    grid = rng.uniform(-2.5, 2.5, (2, 3, 4, 2))
    ours = F.grid_sample(cnnlab.Tensor(image), cnnlab.Tensor(grid), "bilinear", padding_mode, align_corners)
    assert_close(ours.array, naive_grid_sample(image, grid, padding_mode, align_corners), 1e-12)


def test_nearest_rounds_half_to_even():
    image = np.arange(5.0).reshape(1, 1, 1, 5)
    # align_corners=True on width 5: x reads pixel 2 (x + 1), so these land on 0.5, 1.5, 2.5, 3.5.
    x = np.array([-0.75, -0.25, 0.25, 0.75])
    grid = np.stack([x, np.zeros(4)], axis=-1).reshape(1, 1, 4, 2)
    ours = F.grid_sample(cnnlab.Tensor(image), cnnlab.Tensor(grid), "nearest", align_corners=True)
    assert ours.array.reshape(-1).tolist() == [0.0, 2.0, 2.0, 4.0]
    check_op(lambda a, g: F.grid_sample(a, g, "nearest", align_corners=True),
             lambda a, g: TF.grid_sample(a, g, "nearest", align_corners=True), image, grid, dtype=np.float64)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("spatial", [(1, 1), (1, 4), (3, 5)])
def test_affine_grid_of_identity_is_the_pixel_grid(align_corners, spatial):
    h, w = spatial
    grid = F.affine_grid(cnnlab.Tensor(_identity_theta(2, 2)), (2, 3, h, w), align_corners).array
    xs, ys = _pixel_positions(w, align_corners), _pixel_positions(h, align_corners)
    expected = np.stack(np.broadcast_arrays(xs[None, :], ys[:, None]), axis=-1)
    assert grid.shape == (2, h, w, 2)
    assert_close(grid, np.broadcast_to(expected, grid.shape), 1e-6)


def test_affine_grid_3d_identity_runs_x_then_y_then_z():
    grid = F.affine_grid(cnnlab.Tensor(_identity_theta(1, 3)), (1, 1, 2, 3, 4), align_corners=True).array
    assert grid.shape == (1, 2, 3, 4, 3)
    assert_close(grid[0, 1, 2, 3], [1.0, 1.0, 1.0], 1e-6)
    assert_close(grid[0, 0, 1, 2], [1 / 3, 0.0, -1.0], 1e-6)


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_identity_grid_returns_the_input(rng, align_corners, dims, dtype):
    size = (2, 3, 4, 5, 6)[:dims + 2]
    image = cnnlab.Tensor(rng.standard_normal(size).astype(dtype))
    grid = F.affine_grid(cnnlab.Tensor(_identity_theta(2, dims).astype(dtype)), size, align_corners)
    out = F.grid_sample(image, grid, align_corners=align_corners)
    assert out.dtype == dtype
    assert_close(out.array, image.array, 1e-5 if dtype == np.float32 else 1e-12)


# ------------------------------------------------------------------ finite differences
@pytest.mark.parametrize("size", [(2, 1, 3, 4), (1, 2, 2, 3, 2)])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_gradcheck(rng, size, align_corners):
    k = len(size) - 2
    gradcheck(lambda t: F.affine_grid(t, size, align_corners), rng.standard_normal((size[0], k, k + 1)))


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("align_corners", [False, True])
def test_bilinear_gradcheck(rng, padding_mode, align_corners):
    image = rng.standard_normal((2, 2, 3, 4))
    grid = _grid_off_kinks(rng, 2, (2, 3), (3, 4), align_corners)
    gradcheck(lambda a, g: F.grid_sample(a, g, "bilinear", padding_mode, align_corners), image, grid)


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
def test_trilinear_gradcheck(rng, padding_mode):
    image = rng.standard_normal((1, 2, 2, 3, 3))
    grid = _grid_off_kinks(rng, 1, (2, 2, 1), (2, 3, 3), align_corners=False)
    gradcheck(lambda a, g: F.grid_sample(a, g, "bilinear", padding_mode), image, grid)


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
def test_nearest_gradcheck(rng, padding_mode):
    image = rng.standard_normal((2, 2, 3, 4))
    grid = _grid_off_kinks(rng, 2, (2, 3), (3, 4), align_corners=False)  # also off the half-pixel jumps
    gradcheck(lambda a, g: F.grid_sample(a, g, "nearest", padding_mode), image, grid)


def test_composed_spatial_transformer_gradcheck(rng):
    theta = _identity_theta(2, 2) + 0.2 * rng.standard_normal((2, 2, 3))
    image = rng.standard_normal((2, 2, 4, 4))
    gradcheck(lambda a, t: F.grid_sample(a, F.affine_grid(t, (2, 2, 3, 3)), padding_mode="border"), image, theta)


# ------------------------------------------------------------------ PyTorch parity
@pytest.mark.filterwarnings("ignore:Since version 1.3.0")  # torch's note on unit-size grids
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (1, 1, 1, 1), (2, 1, 1, 3), (2, 2, 3, 4, 5), (1, 1, 1, 2, 1)])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_affine_grid_matches_torch(rng, size, align_corners, dtype):
    k = len(size) - 2
    check_op(lambda t: F.affine_grid(t, size, align_corners), lambda t: TF.affine_grid(t, size, align_corners),
             rng.standard_normal((size[0], k, k + 1)), dtype=dtype)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shapes", [((2, 3, 4, 5), (3, 2)), ((1, 2, 1, 3), (2, 4)), ((2, 2, 1, 1), (2, 2)),
                                    ((2, 2, 3, 4, 5), (2, 3, 2))])
@pytest.mark.parametrize("dtype", DTYPES)
def test_grid_sample_matches_torch(rng, mode, padding_mode, align_corners, shapes, dtype):
    size, out = shapes
    image = rng.standard_normal(size)
    grid = rng.uniform(-1.8, 1.8, (size[0],) + out + (len(size) - 2,))  # reaches well outside the image
    check_op(lambda a, g: F.grid_sample(a, g, mode, padding_mode, align_corners),
             lambda a, g: TF.grid_sample(a, g, mode, padding_mode, align_corners), image, grid, dtype=dtype)


@pytest.mark.parametrize("padding_mode", PADDING_MODES)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_far_outside_matches_torch(rng, padding_mode, align_corners):
    image = rng.standard_normal((1, 2, 3, 4))
    grid = rng.uniform(-9, 9, (1, 4, 4, 2))
    check_op(lambda a, g: F.grid_sample(a, g, "bilinear", padding_mode, align_corners),
             lambda a, g: TF.grid_sample(a, g, "bilinear", padding_mode, align_corners), image, grid,
             dtype=np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_spatial_transformer_matches_torch(rng, dtype):
    image, theta = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 2, 3))
    check_op(lambda a, t: F.grid_sample(a, F.affine_grid(t, (2, 3, 4, 4)), padding_mode="reflection"),
             lambda a, t: TF.grid_sample(a, TF.affine_grid(t, (2, 3, 4, 4), False), padding_mode="reflection",
                                         align_corners=False),
             image, theta, dtype=dtype)


def test_gradients_only_where_required(rng):
    image = cnnlab.Tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    grid = cnnlab.Tensor(rng.uniform(-1, 1, (1, 2, 2, 2)))
    F.grid_sample(image, grid).sum().backward()
    assert image.grad is not None and grid.grad is None


# ------------------------------------------------------------------ error messages
def test_affine_grid_theta_shape():
    with raises(ValueError, "affine_grid: theta must have shape (N, 2, 3) for a 4-D size, got shape (1, 3, 4)"):
        F.affine_grid(cnnlab.zeros(1, 3, 4), (1, 1, 2, 2))
    with raises(ValueError, "affine_grid: theta must have shape (N, 3, 4) for a 5-D size, got shape (1, 2, 3)"):
        F.affine_grid(cnnlab.zeros(1, 2, 3), (1, 1, 2, 2, 2))


def test_affine_grid_size():
    with raises(ValueError, "affine_grid: size must be 4 or 5 positive integers", "got size=(1, 1, 2)"):
        F.affine_grid(cnnlab.zeros(1, 2, 3), (1, 1, 2))
    with raises(ValueError, "affine_grid: size must be 4 or 5 positive integers", "got size=(1, 1, 0, 2)"):
        F.affine_grid(cnnlab.zeros(1, 2, 3), (1, 1, 0, 2))


def test_affine_grid_batch_mismatch():
    with raises(ValueError, "affine_grid: size[0]=3 must equal theta's batch size 2"):
        F.affine_grid(cnnlab.zeros(2, 2, 3), (3, 1, 4, 4))


def test_affine_grid_integer_theta():
    with raises(TypeError, "affine_grid: theta must be a float32 or float64 tensor, got dtype=int64"):
        F.affine_grid(cnnlab.Tensor(np.zeros((1, 2, 3), dtype=np.int64)), (1, 1, 2, 2))


def test_grid_sample_grid_shape():
    with raises(ValueError, "grid_sample: grid must have shape (N, H_out, W_out, 2) for a 4-D input",
                "got shape (1, 3, 3, 3)"):
        F.grid_sample(cnnlab.zeros(1, 1, 4, 4), cnnlab.zeros(1, 3, 3, 3))
    with raises(ValueError, "grid_sample: grid must have shape (N, D_out, H_out, W_out, 3) for a 5-D input",
                "got shape (1, 3, 3, 2)"):
        F.grid_sample(cnnlab.zeros(1, 1, 4, 4, 4), cnnlab.zeros(1, 3, 3, 2))


def test_grid_sample_input_shape():
    with raises(ValueError, "grid_sample: input must be (N, C, H, W) or (N, C, D, H, W)", "got shape (1, 4, 4)"):
        F.grid_sample(cnnlab.zeros(1, 4, 4), cnnlab.zeros(1, 3, 3, 2))
    with raises(ValueError, "non-empty spatial size", "got shape (1, 1, 0, 4)"):
        F.grid_sample(cnnlab.zeros(1, 1, 0, 4), cnnlab.zeros(1, 3, 3, 2))


def test_grid_sample_batch_mismatch():
    with raises(ValueError, "grid_sample: grid's batch size 3 must equal input's batch size 2"):
        F.grid_sample(cnnlab.zeros(2, 1, 4, 4), cnnlab.zeros(3, 2, 2, 2))


def test_grid_sample_mode_and_padding_mode():
    with raises(ValueError, "grid_sample: mode must be 'bilinear' or 'nearest', got 'bicubic'"):
        F.grid_sample(cnnlab.zeros(1, 1, 4, 4), cnnlab.zeros(1, 2, 2, 2), mode="bicubic")
    with raises(ValueError, "grid_sample: padding_mode must be 'zeros', 'border' or 'reflection', got 'wrap'"):
        F.grid_sample(cnnlab.zeros(1, 1, 4, 4), cnnlab.zeros(1, 2, 2, 2), padding_mode="wrap")


def test_grid_sample_dtypes():
    with raises(TypeError, "grid_sample: grid must be a tensor of the input's dtype float32, got dtype=float64"):
        F.grid_sample(cnnlab.zeros(1, 1, 4, 4), cnnlab.Tensor(np.zeros((1, 2, 2, 2))))
    with raises(TypeError, "grid_sample: input must be a float32 or float64 tensor, got dtype=int64"):
        F.grid_sample(cnnlab.Tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), cnnlab.zeros(1, 2, 2, 2))
