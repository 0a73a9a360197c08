"""ImageFolder on PNGs written here: classes, modes, resizing, one array, errors."""
import numpy as np
import pytest
from PIL import Image

from cnnlab.data import DataLoader, ImageFolder


def write_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def make_folder(root, size=(6, 8)):
    g = np.random.default_rng(0)
    images = {}
    for cls, names in {"dog": ["b.png", "a.png"], "cat": ["x.png"], "bird": ["c.PNG", "d.png"]}.items():
        for name in names:
            array = g.integers(0, 256, size + (3,), dtype=np.uint8)
            write_png(root / cls / name, array)
            images[(cls, name)] = array
    (root / "cat" / "notes.txt").write_text("not an image")
    return images


def test_classes_sorted_and_images_in_one_array(tmp_path):
    images = make_folder(tmp_path)
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["bird", "cat", "dog"]
    assert ds.data.shape == (5, 3, 6, 8) and ds.data.dtype == np.uint8
    assert ds.targets.tolist() == [0, 0, 1, 2, 2] and ds.targets.dtype == np.int64
    assert [p.rsplit("/", 1)[-1] for p, _ in ds.samples] == ["c.PNG", "d.png", "x.png", "a.png", "b.png"]
    np.testing.assert_array_equal(ds.data[3], images[("dog", "a.png")].transpose(2, 0, 1))
    xb, yb = next(iter(DataLoader(ds, batch_size=5)))
    assert xb.data.shape == (5, 3, 6, 8) and yb.data.tolist() == [0, 0, 1, 2, 2]


def test_grey_mode_and_resize(tmp_path):
    images = make_folder(tmp_path)
    grey = ImageFolder(tmp_path, mode="L")
    assert grey.data.shape == (5, 1, 6, 8)
    expected = np.asarray(Image.fromarray(images[("cat", "x.png")]).convert("L"))
    np.testing.assert_array_equal(grey.data[2, 0], expected)
    assert ImageFolder(tmp_path, size=4).data.shape == (5, 3, 4, 4)
    assert ImageFolder(tmp_path, size=(3, 5), mode="L").data.shape == (5, 1, 3, 5)


def test_mixed_sizes_need_size(tmp_path):
    make_folder(tmp_path)
    write_png(tmp_path / "dog" / "z.png", np.zeros((9, 9, 3), np.uint8))
    with pytest.raises(
        ValueError,
        match=r"ImageFolder: images differ in size \(.*c.PNG is 6x8, .*z.png is not\); pass size=\(H, W\)",
    ):
        ImageFolder(tmp_path)
    assert ImageFolder(tmp_path, size=(6, 8)).data.shape == (6, 3, 6, 8)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="ImageFolder: root must be an existing folder; got .*nowhere"):
        ImageFolder(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"ImageFolder: no class folders in .*; expected root/<class>/<image>"):
        ImageFolder(tmp_path)
    make_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"ImageFolder: class folder\(s\) \['empty'\] in .* hold no images"):
        ImageFolder(tmp_path)
    (tmp_path / "empty" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ValueError, match=r"broken.png: cannot read image"):
        ImageFolder(tmp_path)
    with pytest.raises(ValueError, match=r"ImageFolder: mode must be 'L' or 'RGB'; got mode='CMYK'"):
        ImageFolder(tmp_path, mode="CMYK")
    with pytest.raises(
        ValueError,
        match=r"ImageFolder: size must be None, a positive int or a pair \(H, W\); got size=\(0, 0\)",
    ):
        ImageFolder(tmp_path, size=0)
