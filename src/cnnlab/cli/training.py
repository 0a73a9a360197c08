"""``cnnlab train`` and ``lr-find``, and what the commands that read datasets and build zoo models share."""
import argparse
import inspect
import os
import sys

from .common import CLIError, add_command, user_input

DEFAULT_OUT = os.path.join("runs", "{model}")
DEFAULT_MODEL = "lenet5"


def _dataset_arguments(parser, default="mnist-sample"):
    parser.add_argument("--dataset", default=default,
                        help=f"mnist-sample (embedded, offline), mnist, fashion-mnist, cifar10 or folder:PATH "
                             f"(default: {default})")
    parser.add_argument("--data-dir", default="data", help="where the dataset files are (default: ./data)")
    parser.add_argument("--download", action="store_true", help="fetch the dataset files if they are missing")


def _positive(kind):
    return _number(kind, "positive", lambda value: value > 0)


def _number(kind, rule, accepts):
    """An argparse type: ``kind(text)`` when ``accepts`` it; argparse's message names the option."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not accepts(value):
            raise argparse.ArgumentTypeError(f"expected a {rule} {kind.__name__}, got {text!r}")
        return value
    parse.__name__ = kind.__name__
    return parse


_seed = _number(int, "non-negative", lambda value: value >= 0)
_learning_rate = _number(float, "finite positive", lambda value: 0 < value < float("inf"))  # refuses nan too


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _load_data(args, train, model_info=None):
    from ..data.catalog import load_dataset

    size = mode = None
    if model_info:  # folders of images are read at the model's input size and colour mode
        channels, height, width = model_info["input_shape"]
        size, mode = (height, width), ("L" if channels == 1 else "RGB")
    from ..data import DatasetNotFoundError

    with user_input("--dataset"):
        try:
            data = load_dataset(args.dataset, train=train, root=args.data_dir, download=args.download, size=size,
                                mode=mode)
        except DatasetNotFoundError as missing:
            raise CLIError(f"--dataset: {missing.message('add --download')}") from None
    skipped = getattr(data, "skipped", None)  # a folder's files that are not images by their extension
    if skipped:
        print(f"note: {args.dataset}: skipped {len(skipped)} file(s) that are not images, e.g. {skipped[0]!r}",
              file=sys.stderr)
    return data


def _native_input(model_name):
    """The zoo model's own input shape, at which folders of images are read."""
    from .. import models

    with user_input("--model"):
        return {"input_shape": models.spec(model_name).input_shape}


def _sample_shape(dataset):
    shape = tuple(int(n) for n in dataset.data.shape[1:])
    return shape if len(shape) == 3 else (1, *shape)


def build_model(name, input_shape, num_classes):
    """The zoo model ``name`` fitted to ``input_shape`` (C, H, W) and ``num_classes``, and its kwargs."""
    from .. import models

    with user_input("--model"):
        spec = models.spec(name)
    accepted = inspect.signature(spec.cls).parameters
    wanted = {"in_channels": input_shape[0], "input_size": input_shape[1], "num_classes": num_classes}
    kwargs = {k: v for k, v in wanted.items() if k in accepted}
    if input_shape[1] != input_shape[2] and "input_size" in accepted:
        raise CLIError(f"model {name} expects square inputs, got {input_shape[1]}x{input_shape[2]}")
    with user_input(f"model {name} on {'x'.join(map(str, input_shape))} inputs"):
        return spec.build(**kwargs), kwargs


# ------------------------------------------------------------------ train
def add_train_command(commands):
    parser = add_command(
        commands, "train", "train a zoo model on a dataset",
        "Train a model from the zoo. Writes a checkpoint every epoch, a CSV log, the final model file\n"
        "and (with matplotlib) a plot of the curves into --out. With no arguments it trains LeNet-5 on\n"
        "the embedded MNIST sample, offline. Ctrl-C saves the checkpoint where the run stopped and\n"
        "prints the command that resumes it; the resumed run ends on the weights of an uninterrupted one.",
        "examples:\n  cnnlab train\n  cnnlab train --model keras_mnist_convnet --dataset mnist --data-dir data "
        "--epochs 10\n  cnnlab train --epochs 8 --resume        # continue an interrupted run\n"
        "  cnnlab train --init model.onnx --dataset folder:photos --epochs 3   # fine-tune an imported model\n"
        "  mpiexec -n 4 cnnlab train --batch-size 256   # data-parallel over MPI: 64 images a rank per step",
    )
    parser.add_argument("--model", default=None,
                        help=f"zoo model name (see 'cnnlab models'; default: {DEFAULT_MODEL})")
    parser.add_argument("--init", metavar="FILE", default=None,
                        help="start from the model in FILE (a .onnx file or a cnnlab model file) instead of a zoo "
                             "model; its input shape decides how the dataset is read")
    _dataset_arguments(parser)
    parser.add_argument("--epochs", type=_positive(int), default=5, help="epochs to train (default: 5)")
    parser.add_argument("--batch-size", type=_positive(int), default=64, help="samples per step (default: 64)")
    parser.add_argument("--lr", type=_learning_rate, default=None,
                        help="learning rate (default: 1e-3 for adam, 0.01 for sgd; with --resume, the checkpoint's)")
    parser.add_argument("--optimizer", choices=("adam", "sgd", "adamw", "rmsprop"), default="adam")
    parser.add_argument("--val-split", type=_fraction, default=0.1,
                        help="fraction of the training set held out for validation (default: 0.1)")
    parser.add_argument("--early-stopping", type=_positive(int), metavar="PATIENCE", default=None,
                        help="stop when val_loss has not improved for PATIENCE epochs, keeping the best weights")
    parser.add_argument("--out", default=None, help="output folder (default: runs/MODEL)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--seed", type=_seed, default=0,
                        help="random seed, a non-negative int: the same seed gives the same weights and files")
    parser.add_argument("--quiet", action="store_true", help="print only where the results went")
    parser.set_defaults(run=run_train)


def run_train(args):
    import numpy as np

    import cnnlab
    from ..training import DivergedError, TrainingInterrupted

    if args.init is not None and (args.resume or args.model is not None):
        raise CLIError(f"--init starts a new run from the model in {args.init}; leave out "
                       f"{'--resume' if args.resume else '--model'}")
    if args.init is None:
        args.model = args.model or DEFAULT_MODEL
    out = args.out or DEFAULT_OUT.format(model=args.model or _file_stem(args.init))
    checkpoint = os.path.join(out, "checkpoint.safetensors")
    if args.resume and not os.path.isfile(checkpoint):
        raise CLIError(f"--resume: no checkpoint to resume from at {checkpoint}")
    changes = _check_resumable(checkpoint, args) if args.resume else []
    if changes is None:
        return 0
    world = cnnlab.distributed.world()
    cnnlab.distributed.check_batch(args.batch_size, world.size, "--batch-size")  # before the data is read
    initial, native = _init_model(args.init) if args.init else (None, _native_input(args.model))
    train = _load_data(args, train=True, model_info=native)
    test = _load_test(args, native)
    input_shape = _sample_shape(train)
    cnnlab.manual_seed(args.seed)
    if initial is None:
        model, kwargs = build_model(args.model, input_shape, len(train.classes))
    else:
        model, kwargs = _check_init_fits(args, initial, native, input_shape, train), {}
    if world.rank == 0:  # only rank 0 writes files
        with user_input("--out"):
            os.makedirs(out, exist_ok=True)
    if args.resume:
        _check_loads(checkpoint, model, args.optimizer)
    callbacks = _callbacks(args, out, checkpoint, changes)
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is reported as one line
            history = cnnlab.fit(
                model, train, epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                validation_split=args.val_split, callbacks=callbacks, seed=args.seed, verbose=not args.quiet,
                resume_from=checkpoint if args.resume else None,
            )
    except TrainingInterrupted as stopped:
        print(f"cnnlab train: {stopped}; resume with: {_resume_command(args)}", file=sys.stderr)
        return 130
    except DivergedError as error:
        kept = callbacks[0].last_saved or (checkpoint if args.resume else None)
        last = (f"last good checkpoint: {kept} (continue it with --resume and a lower --lr)" if kept
                else "no checkpoint either")
        print(f"cnnlab train: {error}; no model file written; {last}", file=sys.stderr)
        return 1
    info = {"model": args.model or _file_stem(args.init), "kwargs": kwargs, "input_shape": list(input_shape),
            "dataset": args.dataset, "classes": [str(c) for c in train.classes]}
    if args.init:
        info["init"] = args.init
    model_path = os.path.join(out, "model.safetensors")
    if world.rank == 0:
        cnnlab.save(model, model_path, info=info)
    _report_test(model, test, history, args)  # every rank: the ranks evaluate shares of the test set
    if world.rank != 0:
        return 0
    print(f"model: {model_path}")
    print(f"checkpoint: {checkpoint}")
    print(f"log: {os.path.join(out, 'log.csv')}")
    curves = _plot_curves(history, os.path.join(out, "curves.png"))
    if curves:
        print(f"curves: {curves}")
    return 0


def _file_stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _init_model(path):
    """``(model, {"input_shape": [C, H, W]})`` of ``--init FILE``: a .onnx file or a cnnlab model file."""
    import cnnlab

    if not os.path.isfile(path):
        raise CLIError(f"--init: model file {path!r} does not exist")
    with user_input("--init"):
        model, info = cnnlab.load(path), cnnlab.io.read_info(path)
    if not isinstance(model, cnnlab.nn.Module):
        raise CLIError(f"--init: {path} holds a {type(model).__name__}, not a model; give a .onnx file or a "
                       f"model file saved with cnnlab.save(model, path)")
    shape = info.get("input_shape")
    if not (isinstance(shape, list) and len(shape) == 3 and all(isinstance(n, int) and n > 0 for n in shape)):
        raise CLIError(f"--init: {path} does not record a fixed input shape [C, H, W], got {shape!r}; "
                       f"save it with cnnlab.save(model, path, info={{'input_shape': [C, H, W]}})")
    return model, {"input_shape": shape}


def _check_init_fits(args, model, native, input_shape, train):
    """``model`` when it takes the dataset's images and has one output per class; else a one-line refusal."""
    import numpy as np

    import cnnlab

    wanted = tuple(native["input_shape"])
    if tuple(input_shape) != wanted:
        raise CLIError(f"--init: {args.init} takes {'x'.join(map(str, wanted))} inputs but {args.dataset} holds "
                       f"{'x'.join(map(str, input_shape))} images; pick a --dataset of that shape, or a folder: "
                       f"dataset (read at the model's size)")
    model.eval()
    with cnnlab.no_grad(), user_input("--init"):
        outputs = int(np.prod(model(cnnlab.zeros(1, *wanted)).shape[1:]))
    if outputs != len(train.classes):
        raise CLIError(f"--init: {args.init} has {outputs} outputs but {args.dataset} has {len(train.classes)} "
                       f"classes; fine-tune it on a dataset with {outputs} classes")
    return model


def _callbacks(args, out, checkpoint, changes):
    """The run's checkpoint writer (first; it also saves where Ctrl-C stops the run), CSV log, and the options'."""
    from ..training import CSVLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint

    callbacks = [ModelCheckpoint(checkpoint, save_on_interrupt=True, info={"options": _options(args)}),
                 CSVLogger(os.path.join(out, "log.csv"))]
    if args.early_stopping:
        callbacks.append(EarlyStopping(patience=args.early_stopping, restore_best_weights=True))
    if "lr" in changes:  # a new --lr on --resume: it replaces the checkpoint's from the first epoch resumed on
        callbacks.append(LearningRateScheduler(lambda epoch, lr: args.lr))
    return callbacks


def _load_test(args, model_info):
    """The test split, or None for a folder of images without one: its "test" images are the training images."""
    from ..data.catalog import has_test_split

    with user_input("--dataset"):
        separate = has_test_split(args.dataset)
    return _load_data(args, train=False, model_info=model_info) if separate else None


def _report_test(model, test, history, args):
    """Print the test accuracy; with no test set, say so and give the held-out validation figures instead."""
    import cnnlab

    if test is not None:
        result = cnnlab.evaluate(model, test)
        print(f"test accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} on {len(test)} images")
        return
    missing = f"no test set ({args.dataset} has no test/ folder)"
    logs = history.history
    if not logs.get("val_loss"):
        print(f"{missing}, and --val-split 0 held out no images: the model was not tested")
        return
    epoch = logs["val_loss"].index(min(logs["val_loss"])) if args.early_stopping else -1  # the weights kept
    print(f"{missing}: validation accuracy {logs['val_accuracy'][epoch]:.4f}, loss {logs['val_loss'][epoch]:.4f} "
          f"on the {args.val_split:.0%} of its images held out from training (--val-split)")


#: Options a resumed run must share with its checkpoint: they fix the model, the data or its order, the optimizer.
_FIXED = ("model", "dataset", "val_split", "batch_size", "seed", "optimizer")
#: Options that may change on --resume and apply from there on; left out, they are the checkpoint's.
#: Each with the word for its absence.
_CHANGEABLE = {"lr": "default", "early_stopping": "none"}


def _options(args):
    """The run's options a checkpoint records, to compare on ``--resume``."""
    return {key: getattr(args, key) for key in (*_FIXED, *_CHANGEABLE, "epochs")}


def _flag(key, value):
    return f"--{key.replace('_', '-')} {value}"


def _check_resumable(path, args):
    """Compare ``args`` with the options the checkpoint at ``path`` records, before anything is loaded.

    Refuses in one line the options that would change the model or the data order;
    takes the checkpoint's ``--lr``/``--early-stopping`` where they were left out,
    and says which of them change. Returns the names changed, or None when the
    checkpoint already reached ``--epochs`` (nothing to do).
    """
    from ..io import read_file

    with user_input(f"--resume: cannot resume from {path}"):
        metadata = read_file(path)[1]
    state, saved = metadata.get("checkpoint") or {}, (metadata.get("info") or {}).get("options", {})
    now = _options(args)
    differ = [f"{_flag(key, now[key])} (the checkpoint's is {saved[key]})"
              for key in _FIXED if key in saved and saved[key] != now[key]]
    if differ:
        raise CLIError(f"--resume: {path} was trained with other options, and these fix the model or the data "
                       f"order: {', '.join(differ)}; leave them as they were, or train into a new --out")
    changes = []
    for key, unset in _CHANGEABLE.items():
        if key in saved and now[key] is None:
            setattr(args, key, saved[key])
        elif key in saved and saved[key] != now[key]:
            old = unset if saved[key] is None else saved[key]
            print(f"--resume: {_flag(key, now[key])} replaces the checkpoint's {old} from here on")
            changes.append(key)
    return _epochs_left(path, state, args.epochs, changes)


def _epochs_left(path, state, epochs, changes):
    """``changes``, or None when the checkpoint has done ``epochs``; refuses an ``epochs`` it went past."""
    position = state.get("position")
    if position is not None and position["epoch"] >= epochs:
        raise CLIError(f"--epochs: {path} stopped within epoch {position['epoch'] + 1}, so --epochs must be at "
                       f"least {position['epoch'] + 1} to resume it, got {epochs}")
    done = state.get("epoch", -1) + 1
    if position is None and done >= epochs:
        print(f"nothing to do: {path} already finished epoch {done} of --epochs {epochs}; "
              f"a larger --epochs trains on")
        return None
    return changes


def _check_loads(path, model, optimizer):
    """Fail before training when the checkpoint does not fit ``model`` and ``optimizer`` (a name)."""
    from ..io import load_checkpoint
    from ..training.trainer import make_optimizer

    with user_input(f"--resume: cannot resume from {path}"):
        load_checkpoint(path, model, make_optimizer(optimizer, model))


def _resume_command(args):
    """The command that resumes this run: ``cnnlab train``, each option given that is not its default, ``--resume``.

    Under ``mpiexec -n N``, the same launch (a checkpoint resumes with any number of ranks).
    """
    import shlex

    from .. import distributed
    from . import build_parser

    defaults = vars(build_parser().parse_args(["train"]))
    defaults["model"] = DEFAULT_MODEL  # left out, --model is the default model (None tells --init it was not given)
    ranks = distributed.world_size()
    words = (["mpiexec", "-n", str(ranks)] if ranks > 1 else []) + ["cnnlab", "train"]
    for key, value in vars(args).items():
        if key in ("command", "run", "resume", "debug") or value == defaults.get(key, None) or value is False:
            continue
        words.append(f"--{key.replace('_', '-')}")
        if value is not True:
            words.append(str(value))
    return shlex.join([*words, "--resume"])


def _plot_curves(history, path):
    """Plot ``history`` to ``path``; without matplotlib, one line saying what to install instead."""
    from ..viz import plots_unavailable

    reason = plots_unavailable()
    if reason:
        print(f"curves: skipped ({reason})")
        return None
    from ..viz import plot_history

    plot_history(history, path)
    return path


# ---------------------------------------------------------------- lr-find
def add_lr_find_command(commands):
    parser = add_command(
        commands, "lr-find", "the learning-rate range test: suggest a learning rate",
        "Train briefly while the learning rate grows exponentially, record the smoothed loss, stop when\n"
        "it diverges, and suggest the rate where the loss fell fastest. Writes a loss-vs-LR plot (with\n"
        "matplotlib: without it, one line says what to install).",
        "examples:\n  cnnlab lr-find\n  cnnlab lr-find --model simple_cnn --dataset cifar10 --data-dir data "
        "--optimizer sgd",
    )
    parser.add_argument("--model", default="lenet5", help="zoo model name (default: lenet5)")
    _dataset_arguments(parser)
    parser.add_argument("--optimizer", choices=("adam", "sgd", "adamw", "rmsprop"), default="adam")
    parser.add_argument("--batch-size", type=_positive(int), default=64)
    parser.add_argument("--start-lr", type=_learning_rate, default=1e-7)
    parser.add_argument("--end-lr", type=_learning_rate, default=10.0)
    parser.add_argument("--steps", type=_positive(int), default=100, help="number of learning rates tried")
    parser.add_argument("--seed", type=_seed, default=0, help="random seed, a non-negative int (default: 0)")
    parser.add_argument("--out", default="lr_find.png", help="plot file (default: lr_find.png)")
    parser.set_defaults(run=run_lr_find)


def run_lr_find(args):
    import cnnlab

    train = _load_data(args, train=True, model_info=_native_input(args.model))
    cnnlab.manual_seed(args.seed)
    model, _ = build_model(args.model, _sample_shape(train), len(train.classes))
    with user_input():  # the option values the range test checks, and the loss diverging at --start-lr
        result = cnnlab.find_lr(model, train, optimizer=args.optimizer, start_lr=args.start_lr, end_lr=args.end_lr,
                                num_iter=args.steps, batch_size=args.batch_size, seed=args.seed)
    print(f"suggested learning rate: {result.suggestion:.3g}")
    from ..viz import plots_unavailable

    reason = plots_unavailable()
    if reason:
        print(f"plot: skipped ({reason})")
        return 0
    from ..viz import plot_lr_finder

    with user_input("--out"):
        plot_lr_finder(result, args.out)
    print(f"plot: {args.out}")
    return 0
