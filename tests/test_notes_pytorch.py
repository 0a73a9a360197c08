"""The notes' PyTorch code, run on cnnlab with only its imports changed, and against PyTorch itself.

Each block below is the notes' code as written, apart from the import lines
(``{imports}``) and the corrections marked ``CORRECTED`` (mistakes that fail in
PyTorch and torchvision too).
"""
import contextlib
import io
import re
import textwrap

import numpy as np
import pytest

import cnnlab
from cnnlab.data import MNISTSample, write_idx

torch = pytest.importorskip("torch")

CNNLAB = """
import cnnlab as torch
import cnnlab.nn as nn
import cnnlab.functional as F
"""
TORCH = """
import torch
import torch.nn as nn
import torch.nn.functional as F
"""

SIMPLE_CNN = """
{imports}
# 定义一个简单的CNN模型
class SimpleCNN(nn.Module):
    def __init__(self):
        super(SimpleCNN, self).__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)  # 3输入通道（RGB），6输出通道，5x5卷积核
        self.pool = nn.MaxPool2d(2, 2)   # 2x2池化
        self.conv2 = nn.Conv2d(6, 16, 5) # 6输入通道，16输出通道，5x5卷积核
        self.fc1 = nn.Linear(16 * 5 * 5, 120) # 全连接层
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x))) # 应用conv1, ReLU和pool
        x = self.pool(F.relu(self.conv2(x))) # 应用conv2, ReLU和pool
        x = x.view(-1, 16 * 5 * 5) # 展平张量
        x = F.relu(self.fc1(x))    # 应用全连接层和ReLU
        x = F.relu(self.fc2(x))
        x = self.fc3(x)            # 输出层
        return x

# 初始化模型
net = SimpleCNN()
print(net)
"""

IMPROVED_CNN = """
class ImprovedCNN(nn.Module):
    def __init__(self):
        super(ImprovedCNN, self).__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)  # 3输入通道，32输出通道，3x3卷积核，padding=1
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(64, 128, 3, padding=1)
        self.conv4 = nn.Conv2d(128, 128, 3, padding=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 512)  # 调整了池化层后的尺寸
        self.fc2 = nn.Linear(512, 256)
        self.fc3 = nn.Linear(256, 10)
        self.dropout = nn.Dropout(0.5)
        self.batch_norm1 = nn.BatchNorm2d(32)
        self.batch_norm2 = nn.BatchNorm2d(64)
        self.batch_norm3 = nn.BatchNorm2d(128)
        self.batch_norm4 = nn.BatchNorm2d(128)

    def forward(self, x):
        x = self.pool(F.relu(self.batch_norm1(self.conv1(x))))
        x = self.pool(F.relu(self.batch_norm2(self.conv2(x))))
        x = self.pool(F.relu(self.batch_norm3(self.conv3(x))))
        x = self.pool(F.relu(self.batch_norm4(self.conv4(x))))
        x = x.view(-1, 128 * 4 * 4)  # 调整展平尺寸
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        x = F.relu(self.fc2(x))
        x = self.dropout(x)
        x = self.fc3(x)
        return x

# 初始化改进后的模型
net = ImprovedCNN()
print(net)
"""

# PyTorch's CIFAR-10 tutorial: save the weights, build a new net, load them back, predict.
SAVE = """
PATH = {path!r}
torch.save(net.state_dict(), PATH)
"""
LOAD = """
PATH = {path!r}
net = {net}()
net.load_state_dict(torch.load(PATH))
net.eval()
outputs = net(images)
_, predicted = torch.max(outputs.data, 1)
"""


def run(source, namespace):
    """Execute ``source`` in ``namespace``; returns what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(textwrap.dedent(source), namespace)  # noqa: S102 - the notes' own code
    return printed.getvalue()


def structure(printed):
    """The module tree a ``print(net)`` shows: (indent, name, class) per line, without the arguments."""
    return [re.match(r"(\s*)(?:\((\w+)\): )?(\w+)\(", line).groups() for line in printed.splitlines()
            if re.match(r"\s*(\(\w+\): )?\w+\(", line)]


@pytest.mark.parametrize("blocks,name,shape", [((SIMPLE_CNN,), "SimpleCNN", (3, 32, 32)),
                                               ((SIMPLE_CNN, IMPROVED_CNN), "ImprovedCNN", (3, 64, 64))])
def test_the_cnn_blocks_print_and_compute_as_in_torch(blocks, name, shape, tmp_path):
    ours, theirs = {}, {}
    cnnlab.manual_seed(0)
    printed = [run(block.replace("{imports}", CNNLAB), ours) for block in blocks][-1]
    expected = [run(block.replace("{imports}", TORCH), theirs) for block in blocks][-1]
    # cnnlab's reprs show only non-default arguments; the module tree is PyTorch's.
    assert structure(printed) == structure(expected)
    assert {k: v.shape for k, v in ours["net"].state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs["net"].state_dict().items()}

    images = np.random.default_rng(0).random((4, *shape), dtype=np.float32)
    theirs["net"].eval()
    reference = theirs["net"](torch.tensor(images)).detach().numpy()
    torch.save(theirs["net"].state_dict(), tmp_path / "torch.pth")  # a PyTorch file, read by cnnlab
    ours.update(images=cnnlab.Tensor(images))
    run(LOAD.format(path=str(tmp_path / "torch.pth"), net=name), ours)
    np.testing.assert_allclose(ours["outputs"].numpy(), reference, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(ours["predicted"].numpy(), reference.argmax(1))
    # cnnlab's own state_dict file, written and read back through the same lines
    run(SAVE.format(path=str(tmp_path / "cnnlab.pth")) + LOAD.format(path=str(tmp_path / "cnnlab.pth"), net=name),
        ours)
    np.testing.assert_allclose(ours["outputs"].numpy(), reference, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ note 003
MNIST_CELLS = [
    """
import cnnlab as torch # 需要的各种包
import cnnlab.nn as nn
from cnnlab.autograd import Variable
import cnnlab.utils.data as data
import matplotlib.pyplot as plt
import cnnlab.vision as torchvision # 数据库模块
""", """
torch.manual_seed(1) # reproducible 将随机数生成器的种子设置为固定值，这样，当调用时torch.rand(x)，结果将可重现
""", """
# Hyper Parameters
EPOCH = 1 # 训练迭代次数
BATCH_SIZE = 50 # 分块送入训练器
LR = 0.001 # 学习率 learning rate
""", """
train_data = torchvision.datasets.MNIST(
    root='./mnist/', # 保存位置 若没有就新建
    train=True, # training set
    transform=torchvision.transforms.ToTensor(), #
    # converts a PIL.Image or numpy.ndarray to torch.FloatTensor(C*H*W) in range(0.0,1.0)
    download=True
)

test_data = torchvision.datasets.MNIST(root='./MNIST/')
""", """
train_loader = data.DataLoader(dataset=train_data, batch_size=BATCH_SIZE, shuffle=True)

test_x = Variable(torch.unsqueeze(test_data.test_data, dim=1), volatile=True).type(torch.FloatTensor)[:2000]/255.
# torch.unsqueeze 返回一个新的张量，对输入的既定位置插入维度 1

test_y = test_data.test_labels[:2000]  # CORRECTED: the notes write test_lables, which torchvision has not either
""", """
class CNN(nn.Module):
    def __init__(self):
        super(CNN, self).__init__()
        self.conv1 = nn.Sequential( #input shape (1,28,28)
            nn.Conv2d(in_channels=1, #input height 必须手动提供 输入张量的channels数
                      out_channels=16, #n_filter 必须手动提供 输出张量的channels数
                      kernel_size=5, #filter size 必须手动提供 卷积核的大小
                      stride=1, #filter step 卷积核在图像窗口上每次平移的间隔，即所谓的步长
                      padding=2 #con2d出来的图片大小不变
            ), # output shape (16,28,28)
            nn.ReLU(), # 分段线性函数，把所有的负值都变为0，而正值不变，即单侧抑制
            nn.MaxPool2d(kernel_size=2) #2x2采样，28/2=14，output shape (16,14,14)
        )
        self.conv2 = nn.Sequential(nn.Conv2d(16, 32, 5, 1, 2), #output shape (32,7,7)
                                  nn.ReLU(),
                                  nn.MaxPool2d(2))
        self.out = nn.Linear(32*7*7, 10) # 全连接层 7*7*32, num_classes

    def forward(self, x):
        x = self.conv1(x) # 卷一次
        x = self.conv2(x) # 卷两次
        x = x.view(x.size(0), -1) #flat (batch_size, 32*7*7)
        output = self.out(x) # fc out全连接层 分类器
        return output
""", """
cnn = CNN()
print(cnn) # 使用print(cnn)可以看到网络的结构详细信息，可以看到ReLU()也是一层layer
optimizer = torch.optim.Adam(cnn.parameters(), lr=LR) # torch.optim是一个实现了多种优化算法的包
loss_func = nn.CrossEntropyLoss() # 该损失函数结合了nn.LogSoftmax()和nn.NLLLoss()两个函数 适用于分类
""", """
# training loop
for epoch in range(EPOCH):
    for i, (x, y) in enumerate(train_loader):
        batch_x = Variable(x)
        batch_y = Variable(y)
        output = cnn(batch_x) # 输入训练数据
        loss = loss_func(output, batch_y) # 计算误差 #　实际输出，　期望输出
        optimizer.zero_grad() # 清空上一次梯度
        loss.backward() # 误差反向传递 只需要调用.backward()即可
        optimizer.step() # cnn的优化器参数更新
""", """
test_output = cnn(test_x[:10])
pred_y = torch.max(test_output, 1)[1].data.numpy().squeeze()
print(pred_y, 'prediction number')
print(test_y[:10], 'real number')
"""]

TRAIN_IMAGES = 300  # the data shrunk to a few hundred images of the embedded sample
TEST_IMAGES = 200


@pytest.fixture
def mnist_folders(tmp_path, monkeypatch):
    """The notes' two roots, ./mnist/ and ./MNIST/, each with the IDX files where torchvision looks for them.

    (On a case-insensitive file system the two are one folder; here each gets a copy.)
    """
    monkeypatch.chdir(tmp_path)
    for root in ("mnist", "MNIST"):
        folder = tmp_path / root / "MNIST" / "raw"
        folder.mkdir(parents=True)
        for train, stem, n in ((True, "train", TRAIN_IMAGES), (False, "t10k", TEST_IMAGES)):
            sample = MNISTSample(train=train)
            write_idx(folder / f"{stem}-images-idx3-ubyte.gz", sample.data[:n, 0])
            write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", sample.targets[:n].astype(np.uint8))
    return tmp_path


def run_cells(cells, until=None):
    namespace, printed = {}, []
    for cell in cells[:until]:
        printed.append(run(cell, namespace))
    return namespace, "".join(printed)


def test_the_mnist_case_study_runs_with_only_its_imports_changed(mnist_folders):
    namespace, printed = run_cells(MNIST_CELLS)
    train = MNISTSample(train=True)
    assert len(namespace["train_data"]) == TRAIN_IMAGES and len(namespace["train_loader"]) == TRAIN_IMAGES // 50
    # test_data is MNIST(root='./MNIST/'): train=True by default, in torchvision too
    np.testing.assert_array_equal(namespace["test_data"].test_data.numpy(), train.data[:TRAIN_IMAGES, 0])
    test_x = namespace["test_x"]
    assert test_x.dtype == np.float32 and test_x.shape == (TRAIN_IMAGES, 1, 28, 28)
    np.testing.assert_allclose(test_x.numpy(), train.data[:TRAIN_IMAGES] / np.float32(255), rtol=1e-7)
    assert namespace["test_y"].dtype == np.int64
    pred_y = namespace["pred_y"]   # .data.numpy().squeeze(): a NumPy array, as in PyTorch
    assert isinstance(pred_y, np.ndarray) and pred_y.shape == (10,) and pred_y.dtype == np.int64
    assert "prediction number" in printed and "real number" in printed and "(conv1): Sequential(" in printed
    assert np.isfinite(float(namespace["loss"].item()))


def torch_twin():
    nn = torch.nn
    twin = nn.Module()
    twin.conv1 = nn.Sequential(nn.Conv2d(1, 16, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2))
    twin.conv2 = nn.Sequential(nn.Conv2d(16, 32, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2))
    twin.out = nn.Linear(32 * 7 * 7, 10)
    twin.forward = lambda x: twin.out(twin.conv2(twin.conv1(x)).view(x.size(0), -1))
    return twin


def test_the_mnist_training_ends_with_the_weights_torch_reaches(mnist_folders):
    """The notes' training cells against a torch run from the same weights over the same batches (unshuffled)."""
    cells = [cell.replace("shuffle=True", "shuffle=False") for cell in MNIST_CELLS]
    namespace, _ = run_cells(cells, until=7)  # everything before the training loop
    twin = torch_twin()
    twin.load_state_dict({k: torch.tensor(v.numpy()) for k, v in namespace["cnn"].state_dict().items()})
    run(cells[7], namespace)

    train = MNISTSample(train=True)
    images = torch.tensor(train.data[:TRAIN_IMAGES]).float().div(255)  # as torchvision's ToTensor
    labels = torch.tensor(train.targets[:TRAIN_IMAGES])
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.001)
    for start in range(0, TRAIN_IMAGES, 50):
        loss = torch.nn.CrossEntropyLoss()(twin(images[start:start + 50]), labels[start:start + 50])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for key, value in twin.state_dict().items():
        np.testing.assert_allclose(namespace["cnn"].state_dict()[key].numpy(), value.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=key)
