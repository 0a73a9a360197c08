"""Spatial transformer sampling: affine_grid and grid_sample, in 2-D and 3-D.

Arguments arrive validated from :mod:`cnnlab.functional.sampling`. Grids hold
normalised coordinates in [-1, 1], x (width) first, as in PyTorch. Sampling is
vectorised over the whole batch: each interpolation corner is one gather of all
channels, and the input's gradient one ``bincount`` scatter per corner.
"""
import itertools

from ..backend import get_array_module, matmul
from ..tensor import from_op


# ------------------------------------------------------------------ affine grid
def _normalised_positions(xp, size, align_corners, dtype):
    """Pixel positions in [-1, 1], an ``xp`` array: pixel centres (``align_corners=False``) or corner pixels at +-1."""
    if size == 1:
        return xp.zeros(1, dtype=dtype)
    positions = xp.linspace(-1, 1, size, dtype=dtype)
    return positions if align_corners else positions * ((size - 1) / size)


def _base_grid(xp, spatial, align_corners, dtype):
    """Homogeneous pixel coordinates ``(x, y[, z], 1)``, shape (prod(spatial), len(spatial) + 1), an ``xp`` array."""
    axes = [_normalised_positions(xp, n, align_corners, dtype) for n in spatial]
    mesh = xp.meshgrid(*axes, indexing="ij")  # one array per spatial axis, (D,) H, W order
    columns = [m.reshape(-1) for m in reversed(mesh)] + [xp.ones(mesh[0].size, dtype=dtype)]
    return xp.stack(columns, axis=1)


def affine_grid(theta, spatial, align_corners):
    """``grid[n, p] = theta[n] @ (x_p, y_p[, z_p], 1)``: theta (N, k, k+1), grid (N, *spatial, k)."""
    n, k, _ = theta.shape
    base = _base_grid(get_array_module(theta.array), spatial, align_corners, theta.dtype)
    out = matmul(base, theta.array.transpose(0, 2, 1))  # (N, P, k)

    def backward(g):
        return (matmul(g.reshape(n, -1, k).transpose(0, 2, 1), base),)
    return from_op(out.reshape((n,) + tuple(spatial) + (k,)), (theta,), backward)


# ------------------------------------------------------------ source indices
def _clip(index, size):
    """Clamp into [0, size - 1]; slope 1 strictly inside, 0 on and beyond the border (as PyTorch)."""
    slope = ((index > 0) & (index < size - 1)).astype(index.dtype)
    return get_array_module(index).clip(index, 0, size - 1), slope


def _reflect(index, twice_low, twice_high):
    """Fold ``index`` back into [low, high] by reflecting at the bounds; slope +-1."""
    xp = get_array_module(index)
    if twice_low == twice_high:
        return xp.zeros_like(index), xp.zeros_like(index)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = index - low
    sign = xp.where(shifted < 0, -1, 1).astype(index.dtype)
    shifted = xp.abs(shifted)
    extra = xp.fmod(shifted, span)
    even = xp.floor(shifted / span) % 2 == 0
    return xp.where(even, extra + low, span - extra + low), xp.where(even, sign, -sign)


def _source_index(coordinate, size, padding_mode, align_corners):
    """Pixel index (float) of normalised ``coordinate`` along an axis of ``size``, and d(index)/d(coordinate).

    ``align_corners``: ``(c + 1) (size - 1) / 2``; otherwise ``((c + 1) size - 1) / 2``.
    """
    if align_corners:
        index, slope = (coordinate + 1) * ((size - 1) / 2), (size - 1) / 2
    else:
        index, slope = ((coordinate + 1) * size - 1) / 2, size / 2
    if padding_mode == "zeros":
        return index, slope
    if padding_mode == "reflection":
        twice_low, twice_high = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        index, reflect_slope = _reflect(index, twice_low, twice_high)
        slope = slope * reflect_slope
    index, clip_slope = _clip(index, size)
    return index, slope * clip_slope


# ------------------------------------------------------------------ sampling
def _flat_index(positions, spatial):
    """Row-major index of integer-valued float ``positions`` (one per axis) and whether all lie inside."""
    xp = get_array_module(positions[0])
    inside = xp.ones(positions[0].shape, dtype=bool)
    flat = xp.zeros(positions[0].shape, dtype=xp.intp)
    for position, size in zip(positions, spatial):
        inside &= (position >= 0) & (position < size)
    for position, size in zip(positions, spatial):
        flat = flat * size + xp.where(inside, position, 0).astype(xp.intp)
    return flat, inside


def _gather(flat_input, index):
    """``flat_input[n, c, index[n, p]]``: (N, C, S) and (N, P) give (N, C, P)."""
    return get_array_module(flat_input).take_along_axis(flat_input, index[:, None, :], axis=2)


def _scatter_add(values, index, size):
    """Adjoint of :func:`_gather`: add (N, C, P) ``values`` into (N, C, size) at ``index`` (N, P)."""
    xp = get_array_module(values)
    n, c, _ = values.shape
    rows = (xp.arange(n * c) * size).reshape(n, c, 1)
    summed = xp.bincount((rows + index[:, None, :]).reshape(-1), weights=values.reshape(-1), minlength=n * c * size)
    return summed.reshape(n, c, size).astype(values.dtype, copy=False)


def _product(factors):
    total = 1
    for factor in factors:
        total = total * factor
    return total


def _corners(indices, spatial):
    """Bilinear (trilinear) corners, each ``(bits, flat index, inside mask, per-axis weights, weight)``.

    A corner at offset ``bits`` from ``floor(index)`` has per-axis weight ``f`` or
    ``1 - f`` for the fraction ``f = index - floor(index)``; its weight is their
    product, zeroed when the corner lies outside the image.
    """
    lows = [get_array_module(i).floor(i) for i in indices]
    fractions = [i - low for i, low in zip(indices, lows)]
    corners = []
    for bits in itertools.product((0, 1), repeat=len(indices)):
        flat, inside = _flat_index([low + bit for low, bit in zip(lows, bits)], spatial)
        inside = inside.astype(fractions[0].dtype)
        axis_weights = [f if bit else 1 - f for f, bit in zip(fractions, bits)]
        corners.append((bits, flat, inside, axis_weights, inside * _product(axis_weights)))
    return corners


def grid_sample(input, grid, mode, padding_mode, align_corners):
    """Sample input (N, C, *spatial) at grid (N, *out, k) locations, giving (N, C, *out).

    Bilinear: ``sum over corners of input[corner] * prod_axis(1 - |index - corner|)``;
    nearest: ``input[round_half_even(index)]``; outside the image the input is 0
    (``'zeros'``), its border value (``'border'``) or its mirror image (``'reflection'``).
    """
    n, c, *spatial = input.shape
    out_shape = grid.shape[1:-1]
    flat_input = input.array.reshape(n, c, -1)
    coordinates = grid.array.reshape(n, -1, len(spatial))
    # Grid coordinates run x, y(, z); spatial axes run (D,) H, W.
    located = [_source_index(coordinates[..., k], size, padding_mode, align_corners)
               for k, size in zip(reversed(range(len(spatial))), spatial)]
    indices = [index for index, _ in located]
    if mode == "nearest":
        out, backward = _nearest(input, grid, flat_input, indices, spatial)
    else:
        out, backward = _linear(input, grid, flat_input, located, spatial)
    return from_op(out.reshape((n, c) + tuple(out_shape)), (input, grid), backward)


def _nearest(input, grid, flat_input, indices, spatial):
    xp = get_array_module(flat_input)
    flat, inside = _flat_index([xp.rint(i) for i in indices], spatial)  # rint rounds half to even, as PyTorch
    mask = inside.astype(flat_input.dtype)[:, None, :]
    out = _gather(flat_input, flat) * mask
    flat_shape = out.shape

    def backward(g):
        g = g.reshape(flat_shape)
        grad_input = grad_grid = None
        if input.requires_grad:
            grad_input = _scatter_add(g * mask, flat, flat_input.shape[2]).reshape(input.shape)
        if grid.requires_grad:  # piecewise constant in the grid
            grad_grid = xp.zeros_like(grid.array)
        return grad_input, grad_grid
    return out, backward


def _linear(input, grid, flat_input, located, spatial):
    corners = _corners([index for index, _ in located], spatial)
    out = sum(_gather(flat_input, flat) * weight[:, None, :] for _, flat, _, _, weight in corners)
    flat_shape = out.shape

    def backward(g):
        g = g.reshape(flat_shape)
        grad_input = grad_grid = None
        if input.requires_grad:
            grad_input = sum(_scatter_add(g * weight[:, None, :], flat, flat_input.shape[2])
                             for _, flat, _, _, weight in corners).reshape(input.shape)
        if grid.requires_grad:
            grad_grid = _grid_gradient(g, flat_input, corners, located).reshape(grid.shape)
        return grad_input, grad_grid
    return out, backward


def _grid_gradient(g, flat_input, corners, located):
    """d(loss)/d(grid): per axis, sum over corners of ``g . value`` times the corner weight differentiated along it."""
    xp = get_array_module(g)
    axes = len(located)
    per_axis = [0] * axes
    for bits, flat, inside, axis_weights, _ in corners:
        seen = xp.einsum("ncp,ncp->np", g, _gather(flat_input, flat)) * inside
        for a in range(axes):
            slope = _product(w for b, w in enumerate(axis_weights) if b != a)
            per_axis[a] = per_axis[a] + (seen * slope if bits[a] else -seen * slope)
    # Grid coordinate k drives spatial axis (axes - 1 - k); chain through d(index)/d(coordinate).
    return xp.stack([per_axis[axes - 1 - k] * located[axes - 1 - k][1] for k in range(axes)], axis=-1)
