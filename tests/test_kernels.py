"""cnnlab.kernels: the named kernels, hand-checked filters, and scipy.ndimage as the reference."""
import numpy as np
import pytest

from cnnlab import kernels

ndimage = pytest.importorskip("scipy.ndimage")

NDIMAGE_MODE = {"reflect": "mirror", "zero": "constant", "replicate": "nearest"}


def test_names_lists_every_kernel_the_notes_use():
    expected = {"identity", "edge", "edge4", "edge8", "sobel_x", "sobel_y", "laplacian",
                "box_blur", "gaussian_blur", "sharpen", "emboss"}
    assert set(kernels.names()) == expected
    assert kernels.names() == sorted(kernels.names())
    assert all(kernels.describe(name) for name in kernels.names())


def test_named_kernel_values():
    np.testing.assert_array_equal(kernels.get("edge"), [[1, 0, -1], [0, 0, 0], [-1, 0, 1]])
    np.testing.assert_array_equal(kernels.get("edge8"), [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(kernels.get("sharpen"), [[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
    np.testing.assert_array_equal(kernels.get("sharpen"), kernels.get("identity") + kernels.get("edge4"))
    np.testing.assert_array_equal(kernels.get("edge4"), -kernels.get("laplacian"))
    np.testing.assert_array_equal(kernels.get("sobel_y"), kernels.get("sobel_x").T)
    assert kernels.get("box_blur").sum() == pytest.approx(1)
    assert kernels.get("gaussian_blur").sum() == pytest.approx(1)
    for name in ("edge", "edge4", "edge8", "laplacian", "sobel_x", "sobel_y"):
        assert kernels.get(name).sum() == 0, name  # flat areas give 0


def test_get_returns_a_new_float64_array_each_time():
    first = kernels.get("identity")
    assert first.dtype == np.float64 and first.shape == (3, 3)
    first[1, 1] = 99
    assert kernels.get("identity")[1, 1] == 1


def test_get_is_forgiving_about_case_and_dashes():
    np.testing.assert_array_equal(kernels.get("Sobel-X"), kernels.get("sobel_x"))


def test_unknown_name_suggests_the_nearest():
    with pytest.raises(ValueError, match=r"^unknown kernel name 'sobelx'; did you mean 'sobel_x' or 'sobel_y'\? "
                                         r"known kernels: box_blur, edge, "):
        kernels.get("sobelx")
    with pytest.raises(ValueError, match=r"did you mean 'sharpen'\?"):
        kernels.get("sharpn")
    with pytest.raises(ValueError, match=r"^unknown kernel name 'qqq'; known kernels: "):
        kernels.get("qqq")


def test_gaussian_kernel():
    for size, sigma in [(1, 1.0), (3, 0.5), (5, 1.0), (4, 2.0), (15, 3.0)]:
        g = kernels.gaussian(size, sigma)
        assert g.shape == (size, size)
        assert g.sum() == pytest.approx(1)
        np.testing.assert_allclose(g, g.T)
        np.testing.assert_allclose(g, g[::-1, ::-1])
    g = kernels.gaussian(5, 1.0)
    assert g[2, 2] == g.max()
    assert g[2, 3] / g[2, 2] == pytest.approx(np.exp(-0.5))
    # the 1-2-1 kernel is close to a sampled Gaussian with sigma 0.85
    np.testing.assert_allclose(kernels.gaussian(3, 0.85), kernels.get("gaussian_blur"), atol=0.01)


@pytest.mark.parametrize(
    "size, sigma, message",
    [
        (0, 1.0, "gaussian: size must be a positive integer, got size=0"),
        (2.5, 1.0, "gaussian: size must be a positive integer, got size=2.5"),
        (3, 0, "gaussian: sigma must be a positive number, got sigma=0"),
        (3, -1.0, "gaussian: sigma must be a positive number, got sigma=-1.0"),
        (3, float("inf"), "gaussian: sigma must be finite, got sigma=inf"),
    ],
)
def test_gaussian_errors(size, sigma, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        kernels.gaussian(size, sigma)


# ------------------------------------------------------------------ apply


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return {
        "gray": rng.integers(0, 256, (12, 9), dtype=np.uint8),
        "gray_alpha": rng.integers(0, 256, (12, 9, 2), dtype=np.uint8),
        "rgb": rng.integers(0, 256, (12, 9, 3), dtype=np.uint8),
        "rgba": rng.integers(0, 256, (12, 9, 4), dtype=np.uint8),
        "float": rng.random((12, 9, 3)),
        "float32": rng.random((12, 9)).astype(np.float32),
    }


@pytest.mark.parametrize("boundary", ["reflect", "zero", "replicate"])
def test_identity_returns_the_image(images, boundary):
    for name, image in images.items():
        out = kernels.apply(image, "identity", boundary=boundary)
        assert out.dtype == image.dtype
        if image.dtype == np.uint8:
            np.testing.assert_array_equal(out, image)
        else:  # small images may go through the FFT, exact to rounding
            np.testing.assert_allclose(out, image, rtol=0, atol=1e-6 if image.dtype == np.float32 else 1e-12)
    big = np.random.default_rng(2).random((80, 70))
    np.testing.assert_array_equal(kernels.apply(big, "identity", boundary), big)  # direct: exact


@pytest.mark.parametrize("boundary", ["reflect", "replicate"])
def test_box_blur_of_a_constant_image_is_constant(boundary):
    image = np.full((6, 7, 3), 80, dtype=np.uint8)
    np.testing.assert_array_equal(kernels.apply(image, "box_blur", boundary=boundary), image)
    np.testing.assert_allclose(kernels.apply(np.full((5, 5), 0.3), kernels.gaussian(7, 2.0), boundary), 0.3)


def test_zero_boundary_darkens_only_the_border():
    out = kernels.apply(np.full((5, 5), 90, dtype=np.uint8), "box_blur", boundary="zero")
    assert out[1:-1, 1:-1].tolist() == [[90] * 3] * 3
    assert out[0, 0] == 40 and out[0, 2] == 60


def test_sobel_on_a_vertical_step():
    image = np.zeros((5, 6), dtype=np.uint8)
    image[:, 3:] = 100
    gx = kernels.apply(image, "sobel_x", normalize=None)
    # rows weigh 1-2-1 (sum 4) and columns difference right minus left
    np.testing.assert_array_equal(gx, np.tile([0, 0, 400, 400, 0, 0], (5, 1)).astype(float))
    np.testing.assert_array_equal(kernels.apply(image, "sobel_y", normalize=None), 0)
    # a convolution would flip the kernel and the sign: apply correlates
    flipped = kernels.apply(image, kernels.get("sobel_x")[::-1, ::-1], normalize=None)
    np.testing.assert_array_equal(flipped, -gx)


def test_edge8_is_zero_on_flat_regions_and_responds_at_the_step():
    image = np.zeros((5, 6), dtype=np.uint8)
    image[:, 3:] = 100
    out = kernels.apply(image, "edge8", normalize=None)
    np.testing.assert_array_equal(out[:, [0, 5]], 0)
    np.testing.assert_array_equal(out[:, 2], -300)
    np.testing.assert_array_equal(out[:, 3], 300)


@pytest.mark.parametrize("boundary", ["reflect", "zero", "replicate"])
@pytest.mark.parametrize("kernel", ["emboss", "sobel_x", "sharpen", "random5x3", "gaussian9"])
def test_apply_matches_ndimage_correlate(boundary, kernel):
    rng = np.random.default_rng(1)
    image = rng.random((20, 17, 3))
    weights = {"random5x3": rng.standard_normal((5, 3)), "gaussian9": kernels.gaussian(9, 2.0)}.get(kernel, kernel)
    array = kernels.get(weights) if isinstance(weights, str) else weights
    expected = np.stack([ndimage.correlate(image[..., c], array, mode=NDIMAGE_MODE[boundary], cval=0.0)
                         for c in range(3)], axis=-1)
    np.testing.assert_allclose(kernels.apply(image, weights, boundary, normalize=None), expected, atol=1e-12)


def test_alpha_is_kept_untouched(images):
    for name in ("rgba", "gray_alpha"):
        image = images[name]
        out = kernels.apply(image, "edge8")
        np.testing.assert_array_equal(out[..., -1], image[..., -1])
        expected = kernels.apply(image[..., :-1], "edge8")
        np.testing.assert_array_equal(out[..., :-1], expected)


def test_output_dtypes_and_normalization(images):
    rgb = images["rgb"]
    clipped = kernels.apply(rgb, "edge8", normalize="clip")
    assert clipped.dtype == np.uint8
    raw = kernels.apply(rgb, "edge8", normalize=None)
    assert raw.dtype == np.float64 and raw.min() < 0 and raw.max() > 255
    np.testing.assert_array_equal(clipped, np.clip(raw, 0, 255).round().astype(np.uint8))
    stretched = kernels.apply(rgb, "edge8", normalize="minmax")
    assert stretched.dtype == np.uint8 and stretched.min() == 0 and stretched.max() == 255
    np.testing.assert_allclose(stretched, np.rint((raw - raw.min()) * 255 / (raw.max() - raw.min())))

    floats = kernels.apply(images["float"], "sharpen")
    assert floats.dtype == np.float64 and floats.min() >= 0 and floats.max() <= 1
    assert kernels.apply(images["float32"], "sharpen").dtype == np.float32
    assert kernels.apply(images["float32"], "sharpen", normalize=None).dtype == np.float32
    # a flat result stretches to zeros rather than dividing by zero
    np.testing.assert_array_equal(kernels.apply(np.full((4, 4), 7, np.uint8), "edge8", normalize="minmax"), 0)


def test_large_kernels_are_fine_on_small_images():
    image = np.arange(12, dtype=np.float64).reshape(3, 4) / 12
    for boundary in ("reflect", "zero", "replicate"):
        out = kernels.apply(image, kernels.gaussian(9, 3.0), boundary, normalize=None)
        expected = ndimage.correlate(image, kernels.gaussian(9, 3.0), mode=NDIMAGE_MODE[boundary])
        np.testing.assert_allclose(out, expected, atol=1e-12)


@pytest.mark.parametrize(
    "kernel, message",
    [
        (np.ones((2, 2)), r"kernel must have odd height and width so that it has a centre, got shape \(2, 2\)"),
        (np.ones((3, 4)), r"kernel must have odd height and width so that it has a centre, got shape \(3, 4\)"),
        (np.ones(3), r"kernel must be a non-empty 2-D array, got shape \(3,\)"),
        (np.ones((3, 3, 3)), r"kernel must be a non-empty 2-D array, got shape \(3, 3, 3\)"),
        (np.ones((0, 3)), r"kernel must be a non-empty 2-D array, got shape \(0, 3\)"),
        ([[1, np.nan, 1]], r"kernel must hold finite numbers, got a NaN or an infinity"),
        ([["a"]], r"kernel must hold real numbers, got dtype=<U1"),
        ("blurr", r"unknown kernel name 'blurr'; did you mean 'box_blur'\?"),
    ],
)
def test_bad_kernels(kernel, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        kernels.apply(np.zeros((5, 5), np.uint8), kernel)


def test_bad_images_and_options():
    gray = np.zeros((5, 5), np.uint8)
    with pytest.raises(TypeError, match=r"^apply: image must be uint8 or floating point, got dtype=int64$"):
        kernels.apply(np.zeros((5, 5), np.int64), "edge")
    with pytest.raises(ValueError, match=r"^apply: image must have shape \(H, W\) or \(H, W, C\) with C in 1..4, "
                                         r"got shape \(5, 5, 5\)$"):
        kernels.apply(np.zeros((5, 5, 5), np.uint8), "edge")
    with pytest.raises(ValueError, match=r"^apply: image must not be empty, got shape \(0, 5\)$"):
        kernels.apply(np.zeros((0, 5), np.uint8), "edge")
    with pytest.raises(ValueError, match=r"^apply: boundary must be 'reflect', 'zero' or 'replicate', "
                                         r"got boundary='wrap'$"):
        kernels.apply(gray, "edge", boundary="wrap")
    with pytest.raises(ValueError, match=r"^apply: normalize must be 'clip', 'minmax' or None, got normalize='abs'$"):
        kernels.apply(gray, "edge", normalize="abs")
