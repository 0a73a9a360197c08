"""Module, Parameter, Sequential, ModuleList: registration, traversal, state_dict against torch's, hooks, repr."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

from cnnlab import Tensor, nn
from helpers import raises

torch = pytest.importorskip("torch")


def lenet(nn):
    """LeNet-5 as in the d2l book, built from either library's ``nn``."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def nested_net(nn):
    """A custom Module with nested Sequentials, BatchNorm and a buffer, built from either library's ``nn``."""

    class Block(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(cout)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(Block(1, 4), nn.MaxPool2d(2), Block(4, 8))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(8, 10))
            self.norm = nn.BatchNorm1d(10, momentum=None)

        def forward(self, x):
            return self.norm(self.classifier(self.pool(self.features(x))))

    return Net()


def shapes(state):
    return OrderedDict((key, tuple(value.shape)) for key, value in state.items())


def torch_state_as_numpy(model):
    return {key: value.detach().numpy() for key, value in model.state_dict().items()}


# --------------------------------------------------------------- Parameter
def test_parameter_is_a_trainable_float32_tensor():
    w = nn.Parameter([[1, 2], [3, 4]])
    assert isinstance(w, Tensor) and w.requires_grad and w.dtype == np.float32
    assert nn.Parameter(np.zeros(3)).dtype == np.float64
    assert not nn.Parameter(np.zeros(3), requires_grad=False).requires_grad
    assert repr(nn.Parameter([1.0])).startswith("Parameter containing:\ntensor([1.]")


def test_parameter_shares_numpy_array():
    array = np.zeros(3, dtype=np.float32)
    w = nn.Parameter(array)
    w.array[0] = 5
    assert array[0] == 5


# ------------------------------------------------------------ registration
class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(np.ones((2, 3), dtype=np.float32))
        self.first = nn.Linear(3, 2)
        self.register_buffer("count", Tensor(np.array(0)))
        self.register_buffer("scratch", Tensor(np.zeros(2)), persistent=False)
        self.second = nn.Linear(2, 2, bias=False)
        self.note = "not registered"

    def forward(self, x):
        return self.second(self.first(x))


def test_attribute_assignment_registers_in_order():
    m = Pair()
    assert list(m._parameters) == ["weight"]
    assert [name for name, _ in m.named_children()] == ["first", "second"]
    assert [name for name, _ in m.named_parameters()] == ["weight", "first.weight", "first.bias", "second.weight"]
    assert [name for name, _ in m.named_buffers()] == ["count", "scratch"]
    assert [name for name, _ in m.named_modules()] == ["", "first", "second"]
    assert len(list(m.parameters(recurse=False))) == 1
    assert m.second.bias is None and m.note == "not registered"
    # own parameters, own persistent buffers, then each child's: torch's order
    assert list(m.state_dict()) == ["weight", "count", "first.weight", "first.bias", "second.weight"]


def test_reassigning_and_deleting_attributes():
    m = Pair()
    m.first = nn.Parameter(np.zeros(1, dtype=np.float32))   # a module name becomes a parameter
    assert "first" not in m._modules and "first" in m._parameters
    m.weight = None
    assert m.weight is None and "weight" not in m.state_dict()
    m.count = Tensor(np.array(7))
    assert m.state_dict()["count"].item() == 7
    del m.second
    assert not hasattr(m, "second") and [n for n, _ in m.named_children()] == []


def test_shared_parameters_and_modules_are_counted_once():
    shared = nn.Linear(4, 4)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(net.parameters())) == 2
    assert net.num_parameters() == 20
    assert len(list(net.modules())) == 3
    # state_dict keeps every path, as torch's does
    twin = torch.nn.Linear(4, 4)
    assert list(net.state_dict()) == list(torch.nn.Sequential(twin, torch.nn.ReLU(), twin).state_dict())


def test_registration_errors():
    m = Pair()
    with raises(TypeError, "Pair", "parameter 'weight'", "Parameter or None"):
        m.weight = Tensor(np.zeros((2, 3)))
    with raises(TypeError, "child module 'first'", "Module or None"):
        m.first = 3
    with raises(TypeError, "buffer 'count'", "Tensor or None"):
        m.count = [1, 2]
    with raises(TypeError, "register_buffer", "'extra'", "Tensor or None", "list"):
        m.register_buffer("extra", [1])
    with raises(KeyError, "register_buffer", "'a.b'"):
        m.register_buffer("a.b", Tensor(np.zeros(1)))
    with raises(KeyError, "register_parameter", "'note'", "already exists"):
        m.register_parameter("note", None)
    with raises(TypeError, "register_parameter", "'w'", "Parameter or None", "Tensor"):
        m.register_parameter("w", Tensor(np.zeros(1)))
    with raises(TypeError, "add_module", "'child'", "Module or None", "int"):
        m.add_module("child", 5)

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with raises(AttributeError, "Forgot", "before Module.__init__() call"):
        Forgot()
    with raises(AttributeError, "'Pair' object has no attribute 'missing'"):
        m.missing
    with raises(NotImplementedError, "Module", "forward"):
        nn.Module()(1)


# ------------------------------------------------------------- train/eval
def test_train_and_eval_reach_every_module():
    net = nested_net(nn)
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.features.train()
    assert net.features[0].bn.training and not net.classifier[1].training
    with raises(ValueError, "train", "mode must be a bool", "'yes'"):
        net.train("yes")


def test_zero_grad_and_requires_grad():
    net = nn.Linear(3, 2)
    net(Tensor(np.ones((4, 3), dtype=np.float32))).sum().backward()
    assert net.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert np.all(np.asarray(net.weight.grad) == 0) and net.weight.grad.shape == (2, 3)
    net.zero_grad()
    assert net.weight.grad is None and net.bias.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert net.num_parameters(trainable_only=True) == 0 and net.num_parameters() == 8


def test_apply_visits_children_before_parent():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    visited = []
    assert net.apply(lambda m: visited.append(type(m).__name__)) is net
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]
    net.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)
    assert all(np.all(m.bias.array == 0) for m in net.modules() if isinstance(m, nn.Linear))


def test_to_double_casts_parameters_and_float_buffers():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    assert net.to("cpu").double() is net
    assert {p.dtype for p in net.parameters()} == {np.dtype(np.float64)}
    assert net[1].running_var.dtype == np.float64 and net[1].num_batches_tracked.dtype == np.int64
    out = net(Tensor(np.ones((4, 2))))
    assert out.dtype == np.float64
    net.float()
    assert net[0].weight.dtype == np.float32
    with raises(TypeError, "to", "floating-point", "int64"):
        net.to(np.int64)


def test_deepcopy_gives_independent_parameters():
    net = nested_net(nn)
    twin = copy.deepcopy(net)
    twin.classifier[2].weight.array[...] = 0
    assert not np.all(net.classifier[2].weight.array == 0)
    assert list(twin.state_dict()) == list(net.state_dict())


# ------------------------------------------------------------------- hooks
def test_forward_hooks_see_inputs_and_outputs_and_can_be_removed():
    layer = nn.Linear(3, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, inputs, out: seen.append((m, inputs[0].shape, out.shape)))
    x = Tensor(np.ones((5, 3), dtype=np.float32))
    layer(x)
    assert seen == [(layer, (5, 3), (5, 2))]
    handle.remove()
    layer(x)
    assert len(seen) == 1


def test_hooks_can_replace_inputs_and_outputs():
    layer = nn.Identity()
    pre = layer.register_forward_pre_hook(lambda m, inputs: inputs[0] * 2)
    post = layer.register_forward_hook(lambda m, inputs, out: out + 1)
    assert layer(Tensor([1.0, 2.0])).tolist() == [3.0, 5.0]
    with pre, post:
        pass    # leaving the with-block removes them
    assert layer(Tensor([1.0])).tolist() == [1.0]


# -------------------------------------------------------------- state_dict
@pytest.mark.parametrize("build", [lenet, nested_net], ids=["lenet", "nested"])
def test_state_dict_keys_and_shapes_match_torch(build):
    ours, theirs = build(nn), build(torch.nn)
    assert shapes(ours.state_dict()) == shapes(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


def test_state_dict_values_are_detached_and_share_memory():
    net = nested_net(nn)
    state = net.state_dict()
    assert all(type(v) is Tensor and not v.requires_grad for v in state.values())
    assert state["features.0.bn.num_batches_tracked"].dtype == np.int64
    assert state["features.0.bn.num_batches_tracked"].shape == ()
    state["classifier.2.bias"].array[0] = 42.0
    assert net.classifier[2].bias.array[0] == 42.0
    assert net.state_dict(keep_vars=True)["classifier.2.bias"] is net.classifier[2].bias


@pytest.mark.parametrize("build", [lenet, nested_net], ids=["lenet", "nested"])
def test_load_state_dict_round_trip_with_torch(build):
    ours, theirs = build(nn), build(torch.nn)
    before = {key: id(value.array) for key, value in ours.state_dict().items()}
    result = ours.load_state_dict(torch_state_as_numpy(theirs))
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.array, theirs.state_dict()[key].numpy())
        assert id(value.array) == before[key] and value.dtype == theirs.state_dict()[key].numpy().dtype
    # and back: torch accepts ours unchanged
    fresh = build(torch.nn)
    fresh.load_state_dict({key: torch.from_numpy(value.numpy().copy()) for key, value in ours.state_dict().items()})
    for key, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), theirs.state_dict()[key].numpy())


def test_load_state_dict_keeps_dtype_and_accepts_tensors():
    ours = nn.Linear(3, 2)
    ours.load_state_dict({"weight": Tensor(np.full((2, 3), 0.5)), "bias": np.arange(2.0)})
    assert ours.weight.dtype == np.float32 and ours.weight.array[0, 0] == 0.5 and ours.bias.array.tolist() == [0, 1]


def test_load_state_dict_strict_and_non_strict():
    net = nn.Sequential(nn.Linear(3, 2))
    state = {"0.weight": np.zeros((2, 3)), "0.bais": np.zeros(2)}
    with raises(ValueError, "load_state_dict", "Sequential", "strict=True",
                "missing keys ['0.bias']", "unexpected keys ['0.bais']"):
        net.load_state_dict(state)
    assert not np.all(net[0].weight.array == 0)          # nothing copied
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert missing == ["0.bias"] and unexpected == ["0.bais"]
    assert np.all(net[0].weight.array == 0)


def test_load_state_dict_shape_mismatch_names_key_and_shapes():
    net = nn.Sequential(nn.Conv2d(1, 6, 3))
    good_bias = np.ones(6)
    with raises(ValueError, "load_state_dict", "shape mismatch", "'0.weight'",
                "checkpoint has shape (6, 1, 5, 5)", "model has (6, 1, 3, 3)"):
        net.load_state_dict({"0.weight": np.zeros((6, 1, 5, 5)), "0.bias": good_bias}, strict=False)
    assert not np.all(net[0].bias.array == 1)             # nothing copied


# --------------------------------------------------------------- containers
def test_sequential_indexing_slicing_and_append():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    net = nn.Sequential(a, b, c)
    assert len(net) == 3 and net[0] is a and net[-1] is c and list(net) == [a, b, c]
    head = net[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    assert list(head.state_dict()) == ["2.weight", "2.bias"]       # keys kept, as torch
    net.append(nn.Sigmoid())
    assert len(net) == 4 and [n for n, _ in net.named_children()][-1] == "3"
    net[3] = nn.Tanh()
    assert isinstance(net[3], nn.Tanh)
    del net[3]
    assert len(net) == 3
    del net[0]
    assert [n for n, _ in net.named_children()] == ["0", "1"] and list(net) == [b, c]   # renumbered, as torch
    net.append(nn.Sigmoid())
    assert [n for n, _ in net.named_children()] == ["0", "1", "2"]
    net = nn.Sequential(a, b, c)
    out = net(Tensor(np.ones((5, 2), dtype=np.float32)))
    np.testing.assert_allclose(out.array, c(b(a(Tensor(np.ones((5, 2), dtype=np.float32))))).array)
    with raises(IndexError, "Sequential", "index 3", "out of range", "3 modules"):
        net[3]
    with raises(TypeError, "Sequential", "index must be an int or a slice", "str"):
        net["0"]


def test_sequential_from_ordered_dict():
    net = nn.Sequential(OrderedDict([("conv", nn.Conv2d(1, 2, 3)), ("act", nn.ReLU())]))
    assert list(net.state_dict()) == ["conv.weight", "conv.bias"]
    assert net.conv is net[0]


def test_module_list():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    blocks.append(nn.ReLU())
    blocks.extend([nn.Tanh()])
    blocks.insert(0, nn.Identity())
    blocks += [nn.Sigmoid()]
    assert [type(m).__name__ for m in blocks] == ["Identity", "Linear", "Linear", "ReLU", "Tanh", "Sigmoid"]
    assert list(blocks.state_dict()) == ["1.weight", "1.bias", "2.weight", "2.bias"]
    assert isinstance(blocks[-1], nn.Sigmoid) and len(blocks[1:3]) == 2
    del blocks[0]
    assert list(blocks.state_dict())[0] == "0.weight"

    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = blocks

    assert list(Holder().state_dict())[:2] == ["layers.0.weight", "layers.0.bias"]
    with raises(IndexError, "ModuleList", "index 9", "out of range"):
        blocks[9]
    with raises(NotImplementedError, "ModuleList", "no forward"):
        blocks(1)


# -------------------------------------------------------------------- repr
def test_repr_is_torch_like_and_quiet():
    assert repr(lenet(nn)) == """Sequential(
  (0): Conv2d(1, 6, kernel_size=5, padding=2)
  (1): Sigmoid()
  (2): AvgPool2d(kernel_size=2)
  (3): Conv2d(6, 16, kernel_size=5)
  (4): Sigmoid()
  (5): AvgPool2d(kernel_size=2)
  (6): Flatten()
  (7): Linear(400, 120)
  (8): Sigmoid()
  (9): Linear(120, 84)
  (10): Sigmoid()
  (11): Linear(84, 10)
)"""
    net = nested_net(nn)
    assert repr(net).splitlines()[:8] == [
        "Net(",
        "  (features): Sequential(",
        "    (0): Block(",
        "      (conv): Conv2d(1, 4, kernel_size=3, padding=1, bias=False)",
        "      (bn): BatchNorm2d(4)",
        "      (act): ReLU()",
        "    )",
        "    (1): MaxPool2d(kernel_size=2)",
    ]
    assert "(norm): BatchNorm1d(10, momentum=None)" in repr(net)
    assert repr(nn.Module()) == "Module()"
