"""Spatial transformer sampling with torch.nn.functional's names and defaults.

:func:`affine_grid` turns affine matrices into sampling grids, and
:func:`grid_sample` reads an image at a grid's locations; together they make a
spatial transformer (Jaderberg et al., https://arxiv.org/abs/1506.02025).

>>> theta = cnnlab.Tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])   # identity
>>> grid = affine_grid(theta, (1, 3, 8, 8))
>>> grid_sample(image, grid).shape                                 # image (1, 3, 8, 8)
(1, 3, 8, 8)
"""
from .. import arguments
from ..ops import sampling as ops

__all__ = ["affine_grid", "grid_sample"]

_MODES = ("bilinear", "nearest")
_PADDING_MODES = ("zeros", "border", "reflection")


def affine_grid(theta, size, align_corners=False):
    """Sampling grid of the affine maps ``theta``: where each output pixel reads from, for :func:`grid_sample`.

    Args:
        theta: (N, 2, 3) for 2-D or (N, 3, 4) for 3-D; maps output coordinates
            ``(x, y[, z], 1)`` to input coordinates (receives a gradient).
        size: output size (N, C, H, W) or (N, C, D, H, W).
        align_corners: if True, -1 and 1 are the centres of the corner pixels;
            otherwise the outer edges of the corner pixels.

    Shape:
        grid (N, H, W, 2) or (N, D, H, W, 3), with
        ``grid[n, i, j] = theta[n] @ (x_j, y_i, 1)`` where, along an axis of size ``s``,
        ``x_j = -1 + 2 j / (s - 1)`` (``align_corners``) or ``(2 j + 1) / s - 1``.

    >>> affine_grid(cnnlab.Tensor([[[1.0, 0, 0], [0, 1.0, 0]]]), (1, 1, 1, 2))
    tensor([[[[-0.5,  0. ],
              [ 0.5,  0. ]]]])
    """
    theta = arguments.float_tensor("affine_grid", "theta", theta)
    size = tuple(size)
    if len(size) not in (4, 5) or not all(arguments.is_int(s) and s > 0 for s in size):
        raise ValueError(f"affine_grid: size must be 4 or 5 positive integers, (N, C, H, W) or (N, C, D, H, W), "
                         f"got size={size}")
    k = len(size) - 2
    if theta.ndim != 3 or theta.shape[1:] != (k, k + 1):
        raise ValueError(f"affine_grid: theta must have shape (N, {k}, {k + 1}) for a {len(size)}-D size, "
                         f"got shape {theta.shape}")
    if theta.shape[0] != size[0]:
        raise ValueError(f"affine_grid: size[0]={size[0]} must equal theta's batch size {theta.shape[0]}")
    return ops.affine_grid(theta, size[2:], align_corners)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
    """Sample ``input`` at the normalised locations in ``grid`` (bilinear or nearest).

    Args:
        input: (N, C, H, W), or (N, C, D, H, W) for volumes (trilinear).
        grid: (N, H_out, W_out, 2) holding (x, y), or (N, D_out, H_out, W_out, 3)
            holding (x, y, z); -1 and 1 are the image's extremes (see ``align_corners``).
        mode: 'bilinear' (gradients to input and grid) or 'nearest' (round half to even;
            the grid's gradient is zero).
        padding_mode: value outside the image: 'zeros', 'border' (nearest edge pixel)
            or 'reflection' (mirrored at the edges).
        align_corners: if True, -1 and 1 are the centres of the corner pixels;
            otherwise the outer edges of the corner pixels.

    Shape:
        output (N, C, H_out, W_out) or (N, C, D_out, H_out, W_out). A coordinate ``c``
        along an axis of size ``s`` reads pixel ``(c + 1) (s - 1) / 2`` (``align_corners``)
        or ``((c + 1) s - 1) / 2``.

    >>> image = cnnlab.randn(2, 3, 16, 16)
    >>> grid_sample(image, cnnlab.rand(2, 4, 4, 2) * 2 - 1).shape
    (2, 3, 4, 4)
    """
    name = "grid_sample"
    input = arguments.float_tensor(name, "input", input)
    grid = arguments.float_tensor(name, "grid", grid, like=input)
    arguments.choice(name, "mode", mode, _MODES)
    arguments.choice(name, "padding_mode", padding_mode, _PADDING_MODES)
    _check_shapes(input, grid)
    return ops.grid_sample(input, grid, mode, padding_mode, align_corners)


def _check_shapes(input, grid):
    if input.ndim not in (4, 5) or 0 in input.shape[2:]:
        raise ValueError(f"grid_sample: input must be (N, C, H, W) or (N, C, D, H, W) with non-empty spatial size, "
                         f"got shape {input.shape}")
    k = input.ndim - 2
    if grid.ndim != input.ndim or grid.shape[-1] != k:
        expected = "(N, H_out, W_out, 2)" if k == 2 else "(N, D_out, H_out, W_out, 3)"
        raise ValueError(f"grid_sample: grid must have shape {expected} for a {input.ndim}-D input, "
                         f"got shape {grid.shape}")
    if grid.shape[0] != input.shape[0]:
        raise ValueError(f"grid_sample: grid's batch size {grid.shape[0]} must equal input's batch size "
                         f"{input.shape[0]}")
