"""Shared checks: finite differences, torch parity, error messages.

``check_op`` is the one-call test of an op (as tinygrad's ``helper_test_op``):
the same inputs go through cnnlab and torch, then the forward values and every
input's gradient are compared under one random upstream gradient.
"""
import io
import re
import struct
import zlib

import numpy as np
import pytest

import cnnlab

TOL = {np.float32: 1e-4, np.float64: 1e-8}


def assert_close(ours, ref, rtol):
    """Equal within ``rtol`` relative to the reference's scale (so near-zero entries don't fail)."""
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, f"shape {ours.shape} != reference {ref.shape}"
    np.testing.assert_array_equal(np.isfinite(ours), np.isfinite(ref))  # inf and NaN in the same places
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(ours[~finite], ref[~finite])
    scale = max(float(np.abs(ref[finite]).max(initial=0.0)), 1.0)
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=rtol * scale)


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def gradcheck(fn, *arrays, eps=1e-6, rtol=1e-5, seed=0):
    """Compare autograd gradients of ``fn`` with central finite differences in float64.

    ``fn`` takes Tensors and returns a Tensor (or a tuple of them); the scalar
    checked is ``sum(out * R)`` for a fixed random ``R``, so every output
    element's gradient path is exercised. Non-float arrays pass through as
    constants.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.ascontiguousarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in arrays]
    tensors = [cnnlab.Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    outs = [o for o in _outputs(fn(*tensors)) if isinstance(o, cnnlab.Tensor) and o.array.dtype.kind == "f"]
    weights = [rng.standard_normal(o.shape) for o in outs]

    def objective(*inputs):
        return sum(float((o.array * w).sum()) for o, w in zip(_outputs(fn(*inputs)), weights))

    total = None
    for o, w in zip(outs, weights):
        term = (o * cnnlab.Tensor(w)).sum()
        total = term if total is None else total + term
    total.backward()
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        numeric = np.zeros_like(arrays[i])
        flat = numeric.reshape(-1)
        for j in range(arrays[i].size):
            plus = [cnnlab.Tensor(a) for a in arrays]
            minus = [cnnlab.Tensor(a) for a in arrays]
            plus[i].array = arrays[i].copy()
            minus[i].array = arrays[i].copy()
            plus[i].array.reshape(-1)[j] += eps
            minus[i].array.reshape(-1)[j] -= eps
            flat[j] = (objective(*plus) - objective(*minus)) / (2 * eps)
        analytic = np.zeros_like(arrays[i]) if t.grad is None else np.asarray(t.grad)
        assert_close(analytic, numeric, rtol)


def check_op(ours, theirs, *arrays, dtype=np.float32, rtol=None, grad=True, seed=0):
    """Run ``ours`` (cnnlab) and ``theirs`` (torch) on the same inputs; compare values and gradients.

    ``arrays`` are NumPy arrays; float ones are cast to ``dtype`` and get gradients,
    integer ones pass through unchanged (as targets or indices).
    """
    torch = pytest.importorskip("torch")
    rtol = rtol if rtol is not None else TOL[dtype]
    arrays = [np.asarray(a, dtype=dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    is_float = [a.dtype.kind == "f" for a in arrays]
    ours_in = [cnnlab.Tensor(a.copy(), requires_grad=f and grad) for a, f in zip(arrays, is_float)]
    theirs_in = [torch.tensor(a.copy(), requires_grad=f and grad) for a, f in zip(arrays, is_float)]
    ours_out, theirs_out = _outputs(ours(*ours_in)), _outputs(theirs(*theirs_in))
    assert len(ours_out) == len(theirs_out)
    for o, t in zip(ours_out, theirs_out):
        assert_close(o.array, t.detach().numpy(), rtol)
    if not grad:
        return
    rng = np.random.default_rng(seed)
    pairs = [(o, t) for o, t in zip(ours_out, theirs_out) if o.requires_grad]
    weights = [rng.standard_normal(o.shape).astype(dtype) for o, _ in pairs]
    ours_total = sum(((o * cnnlab.Tensor(w)).sum() for (o, _), w in zip(pairs, weights)), start=cnnlab.Tensor(0.0, dtype=dtype))
    theirs_total = sum(((t * torch.tensor(w)).sum() for (_, t), w in zip(pairs, weights)))
    ours_total.backward()
    theirs_total.backward()
    for o, t in zip(ours_in, theirs_in):
        if t.requires_grad:
            expected = np.zeros(t.shape) if t.grad is None else t.grad.numpy()
            got = np.zeros(o.shape) if o.grad is None else np.asarray(o.grad)
            assert_close(got, expected, rtol)


def assert_conv_algorithm_matches(ours, reference, x, w, b, g, padding, stride=(1, 1), dilation=(1, 1), rtol=1e-5):
    """``ours`` and ``reference`` (output, input, weight and bias gradients of one conv algorithm each) against
    each other and against torch's conv2d on the same arrays; ``padding`` is ``((top, bottom), (left, right))``."""
    torch = pytest.importorskip("torch")
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    padded = torch.nn.functional.pad(tx, padding[1] + padding[0])
    ty = torch.nn.functional.conv2d(padded, tw, tb, stride, dilation=dilation)
    ty.backward(torch.tensor(g))
    theirs = (ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy())
    for mine, ref, torch_ref in zip(ours, reference, theirs):
        assert mine.dtype == x.dtype
        assert_close(mine, ref, rtol)
        assert_close(mine, torch_ref, rtol)


def raises(error, *fragments):
    """``pytest.raises`` that also asserts each fragment appears in the message."""
    return pytest.raises(error, match="(?s)" + "".join(f"(?=.*{re.escape(f)})" for f in fragments))


def blobs(n, seed=0):
    """A tiny separable problem for training tests: ``(x (n, 1, 28, 28), y)``, the class is which quadrant is bright."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0, 0.1, (n, 1, 28, 28)).astype(np.float32)
    for k, (r, c) in enumerate([(0, 0), (0, 14), (14, 0), (14, 14)]):
        x[y == k, :, r:r + 14, c:c + 14] += 1
    return x, y


def weights(model):
    """Copies of ``model``'s state_dict arrays, to compare bit for bit."""
    return {k: v.array.copy() for k, v in model.state_dict().items()}


def png_bytes(array):
    """``array`` (uint8 ``(H, W)`` or ``(H, W, C)``) as a PNG file's bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width=20000, height=20000):
    """A valid 1-bit PNG of ``width`` x ``height`` black pixels: some 50 KB that decode to 400 M pixels."""
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the row's bits
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
