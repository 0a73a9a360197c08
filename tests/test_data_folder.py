"""ImageFolder and folder:PATH on PNGs written here: classes, splits, modes, resizing, errors, the commands."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.data import DataLoader, ImageFolder
from cnnlab.data.catalog import folder_splits, has_test_split, load_dataset


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
    assert xb.array.shape == (5, 3, 6, 8) and yb.array.tolist() == [0, 0, 1, 2, 2]


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
    whole = (tmp_path / "cat" / "x.png").read_bytes()
    (tmp_path / "empty" / "broken.png").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"^cannot read '.*broken.png': a damaged or truncated image \(.*\)$"):
        ImageFolder(tmp_path)
    (tmp_path / "empty" / "broken.png").write_text("notes")
    with pytest.raises(ValueError, match=r"^cannot read '.*broken.png': not an image format Pillow knows"):
        ImageFolder(tmp_path)
    with pytest.raises(ValueError, match=r"ImageFolder: mode must be 'L' or 'RGB'; got mode='CMYK'"):
        ImageFolder(tmp_path, mode="CMYK")
    with pytest.raises(
        ValueError,
        match=r"ImageFolder: size must be None, a positive int or a pair \(H, W\); got size=\(0, 0\)",
    ):
        ImageFolder(tmp_path, size=0)


def test_files_that_are_not_images_are_skipped_and_listed(tmp_path):
    make_folder(tmp_path)
    (tmp_path / "dog" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # hidden: neither read nor listed
    (tmp_path / ".git").mkdir()  # hidden: not a class
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["bird", "cat", "dog"] and len(ds) == 5
    assert [p.rsplit("/", 2)[-2:] for p in ds.skipped] == [["cat", "notes.txt"]]


# ------------------------------------------------ folder:PATH, train/ and test/
def write_split(root, classes, count=6, size=(10, 12)):
    """``root/<class>/<i>.png`` for each class: noisy grey images, darker for earlier classes."""
    g = np.random.default_rng(len(classes))
    for index, cls in enumerate(classes):
        for i in range(count):
            pixels = np.clip(g.normal(40 + 170 * index / max(len(classes) - 1, 1), 15, size + (3,)), 0, 255)
            write_png(root / cls / f"{i}.png", pixels.astype(np.uint8))


def test_folder_splits_and_their_checks(tmp_path):
    write_split(tmp_path / "both" / "train", ["a", "b", "c"])
    write_split(tmp_path / "both" / "test", ["a", "b", "c"], count=2)
    assert folder_splits(str(tmp_path / "both")) == (str(tmp_path / "both" / "train"), str(tmp_path / "both" / "test"))
    test = load_dataset(f"folder:{tmp_path / 'both'}", train=False, size=(4, 4))
    assert len(test) == 6 and test.classes == ["a", "b", "c"] and has_test_split(f"folder:{tmp_path / 'both'}")

    write_split(tmp_path / "odd" / "train", ["a", "b", "c"])
    write_split(tmp_path / "odd" / "test", ["a", "c", "d"])
    for train in (True, False):  # class "c" of test/ would have been scored as train/'s class 1, "b"
        with pytest.raises(ValueError, match=r"dataset folder '.*odd': train/ and test/ must hold the same class "
                                             r"folders; missing in test/: \['b'\]; missing in train/: \['d'\]$"):
            load_dataset(f"folder:{tmp_path / 'odd'}", train=train)

    write_split(tmp_path / "only" / "train", ["a", "b"])
    assert folder_splits(str(tmp_path / "only")) == (str(tmp_path / "only" / "train"), None)
    assert load_dataset(f"folder:{tmp_path / 'only'}").classes == ["a", "b"]  # not a class called "train"
    assert not has_test_split(f"folder:{tmp_path / 'only'}") and not has_test_split(f"folder:{tmp_path / 'only/train'}")
    assert has_test_split("mnist-sample")

    write_split(tmp_path / "one", ["a"])
    with pytest.raises(ValueError, match=r"dataset folder '.*one' must hold two class folders or more \(a classifier "
                                         r"needs two\), got \['a'\]"):
        load_dataset(f"folder:{tmp_path / 'one'}")
    write_split(tmp_path / "testonly" / "test", ["a", "b"])
    with pytest.raises(ValueError, match=r"'.*testonly' has test/ but no train/ folder"):
        load_dataset(f"folder:{tmp_path / 'testonly'}", train=False)


# ------------------------------------------------------ the commands, run for real
def cnnlab_command(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "cnnlab", *map(str, argv)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def train_folder(path, out, *extra):
    return cnnlab_command("train", "--dataset", f"folder:{path}", "--epochs", "1", "--batch-size", "4",
                          "--out", out, "--quiet", *extra)


def assert_one_line_error(result, command, *parts):
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"cnnlab {command}: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and all(part in result.stderr for part in parts), result.stderr


def test_train_refuses_folders_that_would_mislead(tmp_path):
    write_split(tmp_path / "odd" / "train", ["a", "b", "c"])
    write_split(tmp_path / "odd" / "test", ["a", "c"])
    assert_one_line_error(train_folder(tmp_path / "odd", tmp_path / "run"), "train",
                          "train/ and test/ must hold the same class folders; missing in test/: ['b']")
    write_split(tmp_path / "one", ["cats"])
    assert_one_line_error(train_folder(tmp_path / "one", tmp_path / "run"), "train",
                          "must hold two class folders or more (a classifier needs two), got ['cats']")
    write_split(tmp_path / "broken", ["a", "b"])
    (tmp_path / "broken" / "b" / "3.png").write_text("a text file named .png")
    assert_one_line_error(train_folder(tmp_path / "broken", tmp_path / "run"), "train",
                          f"cannot read {str(tmp_path / 'broken' / 'b' / '3.png')!r}: not an image format")
    assert not (tmp_path / "run").exists()


def test_a_folder_without_test_split_reports_no_test_accuracy(tmp_path):
    write_split(tmp_path / "pets" / "train", ["cat", "dog"], count=10)
    (tmp_path / "pets" / "train" / "cat" / "notes.txt").write_text("where these came from")
    (tmp_path / "pets" / "train" / "dog" / "labels.csv").write_text("0,1")
    result = train_folder(tmp_path / "pets", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "test accuracy" not in result.stdout
    assert (f"no test set (folder:{tmp_path / 'pets'} has no test/ folder): validation accuracy "
            in result.stdout) and "on the 10% of its images held out from training (--val-split)" in result.stdout
    assert result.stderr.count("skipped 2 file(s) that are not images, e.g. ") == 1  # once: one folder is read
    info = cnnlab.io.read_info(tmp_path / "run" / "model.safetensors")
    assert info["classes"] == ["cat", "dog"]  # train/ is the training split, not a class

    result = train_folder(tmp_path / "pets", tmp_path / "run0", "--val-split", "0")
    assert result.returncode == 0, result.stderr
    assert "no test set" in result.stdout and "--val-split 0 held out no images: the model was not tested" in (
        result.stdout) and "accuracy" not in result.stdout

    model = tmp_path / "run" / "model.safetensors"
    assert_one_line_error(cnnlab_command("evaluate", model), "evaluate",
                          "has no test/ folder: its images are those", "give --split train")
    result = cnnlab_command("evaluate", model, "--split", "train", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["samples"] == 20

    write_split(tmp_path / "unseen", ["cat", "dog"], count=3)  # other images of the same classes: a test set
    result = cnnlab_command("evaluate", model, "--dataset", f"folder:{tmp_path / 'unseen'}", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["samples"] == 6
    write_split(tmp_path / "other", ["cat", "cow"], count=3)
    assert_one_line_error(cnnlab_command("evaluate", model, "--dataset", f"folder:{tmp_path / 'other'}"), "evaluate",
                          "must hold the classes the model was trained on; classes the model does not know: ['cow']; "
                          "model classes missing here: ['dog']")


def test_train_and_evaluate_on_train_and_test_folders(tmp_path):
    write_split(tmp_path / "pets" / "train", ["cat", "dog"], count=10)
    write_split(tmp_path / "pets" / "test", ["cat", "dog"], count=4)
    result = train_folder(tmp_path / "pets", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert "test accuracy " in result.stdout and "on 8 images" in result.stdout and result.stderr == ""
    result = cnnlab_command("evaluate", tmp_path / "run" / "model.safetensors", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["samples"] == 8 and report["classes"] == ["cat", "dog"]
