"""PyTorch's top-level functions, dtype names, tensor types and Variable, against torch itself."""
import re

import numpy as np
import pytest

import cnnlab
from cnnlab.autograd import Variable

torch = pytest.importorskip("torch")


def same(ours, theirs):
    theirs = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(np.asarray(ours), theirs)


X = np.array([[1.0, 5.0, -2.0], [7.0, 2.0, 3.0]], np.float32)


@pytest.mark.parametrize("name,dtype", [("float32", np.float32), ("float", np.float32), ("float64", np.float64),
                                        ("double", np.float64), ("int64", np.int64), ("long", np.int64),
                                        ("int32", np.int32), ("uint8", np.uint8), ("bool", np.bool_)])
def test_dtype_names_are_numpy_dtypes_matching_torch(name, dtype):
    assert getattr(cnnlab, name) == np.dtype(dtype)
    assert torch.empty(0, dtype=getattr(torch, name)).numpy().dtype == np.dtype(dtype)


@pytest.mark.parametrize("make", ["zeros", "ones"])
@pytest.mark.parametrize("args,kwargs", [((2, 3), {}), (((2, 3),), {}), (([4],), {}), ((2,), {"dtype": "long"}),
                                         ((1, 2), {"dtype": "float64"})])
def test_zeros_and_ones_take_torch_sizes_and_dtypes(make, args, kwargs):
    ours = {k: getattr(cnnlab, v) for k, v in kwargs.items()}
    theirs = {k: getattr(torch, v) for k, v in kwargs.items()}
    same(getattr(cnnlab, make)(*args, **ours), getattr(torch, make)(*args, **theirs))


@pytest.mark.parametrize("args", [(5,), (2, 7), (0, 1, 0.25), (1.0, 4.0), (10, 0, -3)])
def test_arange_matches_torch(args):
    same(cnnlab.arange(*args), torch.arange(*args))


def test_rand_randn_and_randint_draw_from_the_seeded_generator():
    for draw in (lambda: cnnlab.rand(2, 3), lambda: cnnlab.randn((2, 3)), lambda: cnnlab.randint(3, 9, (4, 5))):
        cnnlab.manual_seed(3)
        first = draw().numpy()
        cnnlab.manual_seed(3)
        np.testing.assert_array_equal(draw().numpy(), first)
    assert cnnlab.rand(2, 3).dtype == np.float32 and cnnlab.randn(4).shape == (4,)


@pytest.mark.parametrize("args,kwargs,low,high,shape", [((10, (2, 3)), {}, 0, 10, (2, 3)),
                                                        ((-3, 3, (50,)), {}, -3, 3, (50,)),
                                                        ((5,), {"size": (4,)}, 0, 5, (4,)),
                                                        ((1, 2), {"size": [3, 1]}, 1, 2, (3, 1))])
def test_randint_takes_torch_overloads(args, kwargs, low, high, shape):
    ours, theirs = cnnlab.randint(*args, **kwargs), torch.randint(*args, **kwargs)
    assert ours.dtype == theirs.numpy().dtype == np.int64 and ours.shape == tuple(theirs.shape) == shape
    assert ours.numpy().min() >= low and ours.numpy().max() < high


@pytest.mark.parametrize("args,error,message", [
    ((5, 5, (2,)), ValueError, "randint: high must be greater than low=5, got 5"),
    ((1.5, (2,)), TypeError, "randint: high must be an int, got 1.5"),
    (((2,),), TypeError, "randint: expects (high, size) or (low, high, size)"),
])
def test_randint_refusals(args, error, message):
    with pytest.raises(error, match=re.escape(message)):
        cnnlab.randint(*args)


def test_tensor_from_numpy_cat_stack_and_shape_functions_match_torch():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    shared = cnnlab.from_numpy(array)
    array[0, 0] = 9
    assert shared.numpy()[0, 0] == 9
    copied = cnnlab.tensor(array)
    array[0, 0] = 0
    assert copied.numpy()[0, 0] == 9
    a, b = cnnlab.Tensor(X), cnnlab.Tensor(X * 2)
    ta, tb = torch.tensor(X), torch.tensor(X * 2)
    same(cnnlab.cat((a, b), dim=1), torch.cat((ta, tb), dim=1))
    same(cnnlab.stack([a, b]), torch.stack([ta, tb]))
    same(cnnlab.unsqueeze(a, dim=1), torch.unsqueeze(ta, dim=1))
    same(cnnlab.unsqueeze(a, -1), torch.unsqueeze(ta, -1))
    same(cnnlab.squeeze(cnnlab.ones(1, 3, 1)), torch.squeeze(torch.ones(1, 3, 1)))
    same(cnnlab.squeeze(cnnlab.ones(1, 3, 1), 2), torch.squeeze(torch.ones(1, 3, 1), 2))
    same(cnnlab.flatten(cnnlab.ones(2, 3, 4), 1), torch.flatten(torch.ones(2, 3, 4), 1))


@pytest.mark.parametrize("which", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, False), (-1, True)])
def test_max_and_min_along_a_dim_give_torchs_named_tuple_and_gradient(which, dim, keepdim):
    x = cnnlab.Tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    ours, theirs = getattr(cnnlab, which)(x, dim, keepdim=keepdim), getattr(torch, which)(tx, dim, keepdim=keepdim)
    same(ours.values, theirs.values)
    same(ours.indices, theirs.indices)
    same(ours[1], theirs[1])
    values, indices = ours
    assert values is ours.values and indices is ours.indices
    g = np.random.default_rng(0).standard_normal(values.shape).astype(np.float32)
    values.backward(g)
    theirs.values.backward(torch.tensor(g))
    same(x.grad, tx.grad)  # all of it at the position of the extreme


@pytest.mark.parametrize("which", ["max", "min"])
def test_max_and_min_without_dim_give_the_scalar(which):
    same(getattr(cnnlab, which)(cnnlab.Tensor(X)), getattr(torch, which)(torch.tensor(X)))


@pytest.mark.parametrize("which", ["max", "min"])
def test_max_and_min_of_two_tensors_are_elementwise_and_ties_share_the_gradient(which):
    a = np.array([[1.0, 2.0, 3.0], [4.0, 0.5, 6.0]], np.float32)
    b = np.array([3.0, 2.0, 1.0], np.float32)  # broadcast; ties at column 1
    x, y = cnnlab.Tensor(a, requires_grad=True), cnnlab.Tensor(b, requires_grad=True)
    tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ours, theirs = getattr(cnnlab, which)(x, y), getattr(torch, which)(tx, ty)
    same(ours, theirs)
    g = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    ours.backward(g)
    theirs.backward(torch.tensor(g))
    same(x.grad, tx.grad)
    same(y.grad, ty.grad)
    same(getattr(cnnlab, "maximum" if which == "max" else "minimum")(x, y), theirs)


def test_max_of_data_and_of_the_array_match_torch():
    outputs = cnnlab.Tensor(X)
    _, predicted = cnnlab.max(outputs.data, 1)  # the PyTorch tutorials' torch.max(outputs.data, 1)
    same(predicted, torch.max(torch.tensor(X).data, 1)[1])
    same(cnnlab.max(outputs.array, 1)[1], torch.max(torch.tensor(X), 1)[1])


# ------------------------------------------------------------------- .data
def test_data_is_a_tensor_on_the_same_array_outside_the_graph():
    x = cnnlab.tensor(X, requires_grad=True)
    y = x * 3
    for t in (x, y):
        data = t.data
        assert isinstance(data, cnnlab.Tensor) and data is not t and data.array is t.array
        assert data.requires_grad is False and data.is_leaf
    tx = torch.tensor(X, requires_grad=True)
    ty = tx * 3
    assert not tx.data.requires_grad and not ty.data.requires_grad and ty.data.is_leaf


def test_data_of_a_parameter_is_a_plain_tensor_as_in_torch():
    p = cnnlab.nn.Parameter(X)
    assert type(p.data) is cnnlab.Tensor and type(torch.nn.Parameter(torch.tensor(X)).data) is torch.Tensor


def test_writes_through_data_reach_the_tensor_and_ops_on_it_record_no_graph():
    x = cnnlab.tensor(X, requires_grad=True)
    x.data.array[0, 0] = 10.0
    assert x.array[0, 0] == 10.0
    doubled = x.data * 2
    assert not doubled.requires_grad and doubled.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        doubled.sum().backward()


def test_the_notes_prediction_line_matches_torch():
    x, tx = cnnlab.Tensor(X), torch.tensor(X)
    ours = cnnlab.max(x, 1)[1].data.numpy().squeeze()
    theirs = torch.max(tx, 1)[1].data.numpy().squeeze()
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)
    assert (cnnlab.max(x, 1)[1].data == 1).sum().item() == (torch.max(tx, 1)[1].data == 1).sum().item()


@pytest.mark.parametrize("value", [np.zeros((4,), np.float64), [0.0, 0.0, 0.0, 0.0]])
def test_assigning_data_replaces_the_storage_shape_and_dtype_follow(value):
    x = cnnlab.tensor(X, requires_grad=True)
    (x * 2).sum().backward()
    x.data = cnnlab.tensor(value) if isinstance(value, np.ndarray) else value
    tx = torch.tensor(X, requires_grad=True)
    tx.data = torch.tensor(value, dtype=torch.float64 if isinstance(value, np.ndarray) else torch.float32)
    same(x, tx)
    assert x.requires_grad and tx.requires_grad
    assert x.grad is None   # the (2, 3) gradient no longer fits a (4,) tensor


def test_assigning_data_shares_the_array_and_keeps_a_fitting_grad():
    w = cnnlab.nn.Parameter(np.ones((2, 3), np.float32))
    (w * 2).sum().backward()
    source = cnnlab.tensor(X)
    w.data = source
    assert w.array is source.array and isinstance(w, cnnlab.nn.Parameter)
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 2.0, np.float32))
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), 2 + 2 * X)


def test_assigning_integer_data_to_a_tensor_that_requires_grad_is_refused_as_in_torch():
    x = cnnlab.tensor(X, requires_grad=True)
    with pytest.raises(TypeError, match=re.escape("Tensor.data: value must be a float32 or float64 array for a "
                                                  "tensor that requires grad, got dtype=int64")):
        x.data = cnnlab.tensor([1, 2])
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor(X, requires_grad=True).data = torch.tensor([1, 2])
    assert x.dtype == np.float32 and x.shape == (2, 3)
    plain = cnnlab.tensor(X)
    plain.data = cnnlab.tensor([1, 2])
    assert plain.array.tolist() == [1, 2]


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True)])
def test_argmax_and_argmin_match_torch(dim, keepdim):
    for which in ("argmax", "argmin"):
        same(getattr(cnnlab, which)(cnnlab.Tensor(X), dim, keepdim), getattr(torch, which)(torch.tensor(X), dim,
                                                                                            keepdim))


@pytest.mark.parametrize("kind,dtype", [("FloatTensor", np.float32), ("DoubleTensor", np.float64),
                                        ("LongTensor", np.int64), ("IntTensor", np.int32),
                                        ("ByteTensor", np.uint8), ("BoolTensor", np.bool_)])
def test_type_casts_and_names_as_torch(kind, dtype):
    x, tx = cnnlab.Tensor(X), torch.tensor(X)
    for ours, theirs in ((getattr(cnnlab, kind), getattr(torch, kind)), (f"torch.{kind}", f"torch.{kind}")):
        cast = x.type(ours)
        same(cast, tx.type(theirs))
        assert cast.type() == f"cnnlab.{kind}" and tx.type(theirs).type() == f"torch.{kind}"
        assert isinstance(cast, getattr(cnnlab, kind)) and not isinstance(x.type(cnnlab.HalfTensor), getattr(cnnlab,
                                                                                                               kind))
    same(x.type(dtype), tx.type(getattr(torch, np.dtype(dtype).name if dtype is not np.bool_ else "bool")))


def test_tensor_types_construct_as_torch():
    same(cnnlab.FloatTensor([1, 2]), torch.FloatTensor([1, 2]))
    same(cnnlab.LongTensor([[1, 2]]), torch.LongTensor([[1, 2]]))
    assert cnnlab.FloatTensor(2, 3).shape == (2, 3) and cnnlab.FloatTensor(2, 3).dtype == np.float32
    assert cnnlab.LongTensor().shape == tuple(torch.LongTensor().shape) == (0,)
    assert repr(cnnlab.FloatTensor) == "<class 'cnnlab.FloatTensor'>"


def test_a_float_cast_keeps_the_gradient_and_an_integer_cast_drops_it():
    x = cnnlab.Tensor(X.astype(np.float64), requires_grad=True)
    x.type(cnnlab.FloatTensor).sum().backward()
    assert x.grad.dtype == np.float64 and np.all(x.grad.numpy() == 1)
    assert not x.type(cnnlab.LongTensor).requires_grad


@pytest.mark.parametrize("kind,error,message", [
    ("torch.Complex", ValueError, "type: dtype must be one of cnnlab.FloatTensor"),
    (3.5, TypeError, "type: dtype must be a tensor type such as cnnlab.FloatTensor, its name, or a dtype"),
])
def test_type_refuses_unknown_types(kind, error, message):
    with pytest.raises(error, match=re.escape(message)):
        cnnlab.Tensor(X).type(kind)


def test_tensor_methods_the_notes_use():
    x, tx = cnnlab.Tensor(X), torch.tensor(X)
    assert x.size(0) == tx.size(0) and x.size(-1) == tx.size(-1) and tuple(x.size()) == tuple(tx.size())
    same(x.view(-1), tx.view(-1))
    same(x.view(3, -1), tx.view(3, -1))
    same(x.view(x.size(0), -1), tx.view(tx.size(0), -1))
    assert x[1, 0].item() == tx[1, 0].item() == 7.0
    same(cnnlab.arange(3).float(), torch.arange(3).float())
    same(x.long(), tx.long())
    same(cnnlab.ones(3, 1).squeeze(1), torch.ones(3, 1).squeeze(1))
    same(cnnlab.max(x, 1)[1].data.numpy().squeeze(), torch.max(tx, 1)[1].data.numpy().squeeze())


def test_variable_returns_the_tensor_itself():
    x = cnnlab.ones(2)
    assert Variable(x) is x and isinstance(x, Variable) and not isinstance(np.ones(2), Variable)
    assert Variable(x, requires_grad=True) is x and x.requires_grad
    frozen = Variable(x, volatile=True)
    assert not frozen.requires_grad and frozen.numpy() is x.numpy()
    wrapped = Variable(np.arange(3))
    assert isinstance(wrapped, cnnlab.Tensor) and wrapped.dtype == np.int64


# ------------------------------------------------------- vision and utils.data
@pytest.fixture
def mnist_root(tmp_path):
    from cnnlab.data import MNISTSample, write_idx

    folder = tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True)
    for train, stem in ((True, "train"), (False, "t10k")):
        sample = MNISTSample(train=train)
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", sample.data[:120, 0])
        write_idx(folder / f"{stem}-labels-idx1-ubyte", sample.targets[:120].astype(np.uint8))
    return tmp_path


def test_mnist_has_torchvisions_items_and_attributes(mnist_root):
    from PIL import Image

    import cnnlab.vision as torchvision

    ds = torchvision.datasets.MNIST(mnist_root, train=False)
    image, target = ds[3]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (28, 28)
    assert type(target) is int and target == int(ds.targets[3].item())
    assert ds.data.dtype == np.uint8 and ds.data.shape == (120, 28, 28) and ds.targets.dtype == np.int64
    assert ds.test_data is ds.data and ds.train_labels is ds.targets and ds.class_to_idx["3 - three"] == 3
    np.testing.assert_array_equal(np.asarray(image), ds.data[3].numpy())
    assert repr(ds).splitlines()[:2] == ["Dataset MNIST", "    Number of datapoints: 120"]


def test_to_tensor_and_normalize_give_the_same_values_one_by_one_and_by_batch(mnist_root):
    import cnnlab.vision as torchvision
    from cnnlab.vision import transforms

    t = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = torchvision.datasets.MNIST(mnist_root, train=True, transform=t, target_transform=lambda y: y + 10)
    x, y = ds[5]
    assert x.dtype == np.float32 and x.shape == (1, 28, 28) and y == int(ds.targets[5].item()) + 10
    expected = (ds.data[5].numpy() / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    np.testing.assert_allclose(x.numpy()[0], expected, rtol=1e-6)
    batch_x, batch_y = ds.gather(np.array([5, 7]))
    np.testing.assert_array_equal(batch_x[0], x.numpy())
    np.testing.assert_array_equal(batch_y, [y, int(ds.targets[7].item()) + 10])
    plain = transforms.ToTensor()(np.arange(6, dtype=np.float64).reshape(2, 3))
    assert plain.dtype == np.float64 and plain.shape == (1, 2, 3)  # non-uint8 values kept, as torchvision


def test_a_transform_without_a_batch_form_runs_sample_by_sample(mnist_root):
    import cnnlab.utils.data as data
    import cnnlab.vision as torchvision

    flip = torchvision.transforms.Compose([lambda image: image.transpose(0), torchvision.transforms.ToTensor()])
    ds = torchvision.datasets.MNIST(mnist_root, transform=flip)
    x, y = next(iter(data.DataLoader(ds, batch_size=4, num_workers=2)))
    assert x.shape == (4, 1, 28, 28) and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy()[1, 0], ds.data[1].numpy()[:, ::-1] / np.float32(255))


def test_dataloader_refuses_a_negative_num_workers(mnist_root):
    import cnnlab.utils.data as data

    with pytest.raises(ValueError, match=re.escape("DataLoader: num_workers must be a non-negative int, got -1")):
        data.DataLoader(data.TensorDataset(np.zeros((2, 1))), num_workers=-1)


def test_missing_files_name_torchvisions_folder(tmp_path):
    import cnnlab.vision as torchvision

    with pytest.raises(Exception, match=re.escape(str(tmp_path / "MNIST" / "raw"))):
        torchvision.datasets.MNIST(tmp_path)


def test_cifar10_has_torchvisions_layout(tmp_path):
    from PIL import Image
    from test_data_cifar import write_cifar

    import cnnlab.vision as torchvision

    write_cifar(tmp_path)
    source = cnnlab.data.CIFAR10(tmp_path, train=True)
    ds = torchvision.datasets.CIFAR10(tmp_path, train=True, transform=torchvision.transforms.ToTensor())
    assert ds.data.shape == (len(source), 32, 32, 3) and ds.data.dtype == np.uint8
    assert ds.targets == source.targets.tolist() and ds.classes == source.classes
    x, y = ds[1]
    np.testing.assert_array_equal(x.numpy(), source.data[1] / np.float32(255))
    image, _ = torchvision.datasets.CIFAR10(tmp_path)[1]
    assert isinstance(image, Image.Image) and image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), ds.data[1])


def test_writing_through_data_or_under_no_grad_as_torch_does():
    ours, theirs = cnnlab.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ours.bias.data[1] = 7.0
    theirs.bias.data[1] = 7.0
    assert ours.bias.array[1] == theirs.bias.data[1].item() == 7.0
    with cnnlab.no_grad():
        ours.weight[0, :] = cnnlab.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ours.weight.array[0], [1, 2, 3])
    with pytest.raises(RuntimeError, match="requires grad cannot be written in place"):
        ours.weight[0, 0] = 1.0
    with pytest.raises(RuntimeError):
        theirs.weight[0, 0] = 1.0


def test_subpackages_are_reachable_after_import_cnnlab_and_imported_only_then():
    import os
    import subprocess
    import sys

    code = ("import sys, cnnlab; assert 'cnnlab.onnx' not in sys.modules and 'cnnlab.keras' not in sys.modules; "
            "assert callable(cnnlab.onnx.export) and callable(cnnlab.keras.Sequential); "
            "assert cnnlab.vision.datasets.MNIST and cnnlab.utils.data.DataLoader; print('ok')")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # this checkout's cnnlab
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
    with pytest.raises(AttributeError, match="module 'cnnlab' has no attribute 'no_such_thing'"):
        cnnlab.no_such_thing
