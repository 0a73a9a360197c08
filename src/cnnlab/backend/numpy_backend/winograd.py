"""Winograd's minimal filtering F(2x2, 3x3): a 3x3 stride-1 convolution with 2.25x fewer multiplications.

The idea (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
CVPR 2016, https://arxiv.org/abs/1509.09308): cut the output into 2x2 tiles;
each needs a 4x4 input tile ``d`` and gives::

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* element-wise, per channel pair)

so after transforming every input tile (``V = B^T d B``) and every kernel
(``U = G g G^T``), the sum over input channels is 16 independent matrix
products ``M[xi] = U[xi] (O, C) @ V[xi] (C, tiles)``, one batched GEMM of
``16 O C tiles`` multiply-adds instead of im2col's ``36 O C tiles``. The
transforms have 0/±1 (and ±1/2 for ``G``) entries, so they are a few strided
additions over whole arrays. Every step is linear, so the backward pass is the
adjoint of each step in reverse: ``dM = A dY A^T``, ``dU = dM @ V^T`` (weight,
through ``G^T dU G``), ``dV = U^T @ dM`` (input, through ``B dV B^T`` added
back into the overlapping tiles).

Shapes: ``x (N, C, H, W)`` (already padded), ``w (O, C, 3, 3)`` -> ``(N, O, H - 2, W - 2)``.
An odd output side is computed on a zero row/column of extra input and cropped.
"""
import numpy

from .. import get_array_module

# F(2x2, 3x3) transforms (Lavin & Gray, section 4.1).
_G = numpy.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def _tiles(spatial):
    """Output tiles along each side of a ``spatial`` (padded) input: ``ceil((n - 2) / 2)``."""
    return tuple((n - 1) // 2 for n in spatial)


def _input_transform_1d(d, axis, tiles):
    """``B^T`` along ``axis`` of 4-wide windows at stride 2: four arrays ``(..., tiles, ...)``."""
    at = [(slice(None),) * axis + (slice(i, i + 2 * tiles - 1, 2),) for i in range(4)]
    d0, d1, d2, d3 = (d[a] for a in at)
    return d0 - d2, d1 + d2, d2 - d1, d1 - d3


def input_transform(x, tiles):
    """``V = B^T d B`` of every 4x4 input tile: ``x (N, C, Hp, Wp)`` -> ``(16, C, N * th * tw)``."""
    xp = get_array_module(x)
    th, tw = tiles
    batch, channels = x.shape[:2]
    v = xp.empty((4, 4, channels, batch, th, tw), dtype=x.dtype)
    for r, rows in enumerate(_input_transform_1d(x, 2, th)):  # (N, C, th, Wp)
        for s, tile in enumerate(_input_transform_1d(rows, 3, tw)):  # (N, C, th, tw)
            v[r, s] = tile.transpose(1, 0, 2, 3)
    return v.reshape(16, channels, batch * th * tw)


def input_transform_adjoint(dv, shape, tiles):
    """The adjoint of :func:`input_transform`: ``(16, C, N * th * tw)`` -> gradient of ``x`` of ``shape``."""
    xp = get_array_module(dv)
    th, tw = tiles
    batch, channels = shape[:2]
    dv = dv.reshape(4, 4, channels, batch, th, tw)
    rows = xp.zeros((4, channels, batch, th, shape[3]), dtype=dv.dtype)
    for r in range(4):
        _add_adjoint_1d(rows[r], dv[r], 3, tw)
    grad = xp.zeros((channels, batch) + tuple(shape[2:]), dtype=dv.dtype)
    _add_adjoint_1d(grad, rows, 2, th)
    return grad.transpose(1, 0, 2, 3)


def _add_adjoint_1d(target, v, axis, tiles):
    """Add ``B`` applied to ``v``'s leading 4-axis back into the overlapping windows along ``target``'s ``axis``."""
    v0, v1, v2, v3 = v[0], v[1], v[2], v[3]
    at = [(slice(None),) * axis + (slice(i, i + 2 * tiles - 1, 2),) for i in range(4)]
    target[at[0]] += v0
    target[at[1]] += v1 - v2 + v3
    target[at[2]] += v2 + v1 - v0
    target[at[3]] -= v3


def weight_transform(w):
    """``U = G g G^T`` of every 3x3 kernel: ``(O, C, 3, 3)`` -> ``(16, O, C)``."""
    xp = get_array_module(w)
    g = xp.asarray(_G, dtype=w.dtype)
    return xp.einsum("ai,ocij,bj->aboc", g, w, g).reshape(16, w.shape[0], w.shape[1])


def weight_transform_adjoint(du):
    """The adjoint of :func:`weight_transform`: ``(16, O, C)`` -> ``(O, C, 3, 3)``."""
    xp = get_array_module(du)
    g = xp.asarray(_G, dtype=du.dtype)
    return xp.einsum("ai,aboc,bj->ocij", g, du.reshape(4, 4, *du.shape[1:]), g)


def output_transform(m, batch, tiles, out):
    """``Y = A^T M A`` of every tile: ``(16, O, N * th * tw)`` -> ``(N, O, *out)``."""
    xp = get_array_module(m)
    th, tw = tiles
    channels = m.shape[1]
    m = m.reshape(4, 4, channels, batch, th, tw)
    rows = (m[0] + m[1] + m[2], m[1] - m[2] - m[3])  # each (4, O, N, th, tw)
    y = xp.empty((batch, channels, th, 2, tw, 2), dtype=m.dtype)
    for p, row in enumerate(rows):
        xp.add(row[0] + row[1], row[2], out=y[:, :, :, p, :, 0].transpose(1, 0, 2, 3))
        xp.subtract(row[1] - row[2], row[3], out=y[:, :, :, p, :, 1].transpose(1, 0, 2, 3))
    y = y.reshape(batch, channels, 2 * th, 2 * tw)
    if (2 * th, 2 * tw) != tuple(out):
        y = xp.ascontiguousarray(y[:, :, :out[0], :out[1]])
    return y


def output_transform_adjoint(g, tiles):
    """The adjoint of :func:`output_transform`: ``dM = A dY A^T``, ``(N, O, *out)`` -> ``(16, O, N * th * tw)``."""
    xp = get_array_module(g)
    th, tw = tiles
    batch, channels = g.shape[:2]
    if g.shape[2:] != (2 * th, 2 * tw):
        padded = xp.zeros((batch, channels, 2 * th, 2 * tw), dtype=g.dtype)
        padded[:, :, :g.shape[2], :g.shape[3]] = g
        g = padded
    g = g.reshape(batch, channels, th, 2, tw, 2).transpose(3, 5, 1, 0, 2, 4)  # (2, 2, O, N, th, tw) view
    dm = xp.empty((4, 4, channels, batch, th, tw), dtype=g.dtype)
    columns = [(g[p, 0], g[p, 0] + g[p, 1], g[p, 0] - g[p, 1], -g[p, 1]) for p in range(2)]  # A along tw
    for s in range(4):
        y0, y1 = columns[0][s], columns[1][s]
        dm[0, s], dm[3, s] = y0, -y1
        xp.add(y0, y1, out=dm[1, s])
        xp.subtract(y0, y1, out=dm[2, s])
    return dm.reshape(16, channels, batch * th * tw)


def conv3x3(backend, x, w, backward_needs):
    """Forward of a 3x3 stride-1 convolution of the padded ``x (N, C, Hp, Wp)`` with ``w (O, C, 3, 3)``.

    Returns the output ``(N, O, Hp - 2, Wp - 2)`` and a ``backward(g)`` giving
    ``(gx, gw)`` (gradient of the padded input, of the weight); ``backward_needs``
    is ``(input, weight)`` flags, so forward keeps only what backward will use.
    """
    xp = get_array_module(x)
    out = (x.shape[2] - 2, x.shape[3] - 2)
    tiles = _tiles(x.shape[2:])
    if any(2 * t + 2 != n for t, n in zip(tiles, x.shape[2:])):  # odd output: one zero row/column more
        grown = xp.zeros(x.shape[:2] + tuple(2 * t + 2 for t in tiles), dtype=x.dtype)
        grown[:, :, :x.shape[2], :x.shape[3]] = x
        x_tiles = grown
    else:
        x_tiles = x
    v = input_transform(x_tiles, tiles)
    u = weight_transform(w)
    y = output_transform(backend.matmul(u, v), x.shape[0], tiles, out)
    need_input, need_weight = backward_needs
    v = v if need_weight else None

    def backward(g):
        dm = output_transform_adjoint(g, tiles)
        gw = weight_transform_adjoint(_times_transposed(backend, dm, v)) if need_weight else None
        gx = None
        if need_input:
            gx = input_transform_adjoint(backend.matmul(u.swapaxes(1, 2), dm), x_tiles.shape, tiles)
            gx = gx[:, :, :x.shape[2], :x.shape[3]]
        return gx, gw
    return y, backward


def _times_transposed(backend, a, b):
    """``a @ b^T`` for stacks of wide matrices (short rows, long shared axis), computed as ``(b @ a^T)^T``.

    Same numbers; the orientation matters because multi-threaded OpenBLAS can stall
    on ``(m, K) @ (K, n)`` with small ``m, n`` and a huge ``K`` when one core is busy.
    """
    return backend.matmul(b, a.swapaxes(-1, -2)).swapaxes(-1, -2)
