"""``cnnlab evaluate`` and ``predict``: a trained model (a file, a zoo name or an ONNX graph) on data and on images."""
import json
import os
import sys

from .common import CLIError, add_command, check_model_source, user_input
from .training import _dataset_arguments, _load_data, _positive, _sample_shape


# --------------------------------------------------------------- evaluate
def add_evaluate_command(commands):
    parser = add_command(
        commands, "evaluate", "loss, accuracy, per-class accuracy and confusion matrix of a model file",
        "Evaluate a saved model on a dataset's test split.",
        "examples:\n  cnnlab evaluate runs/lenet5/model.safetensors\n"
        "  cnnlab evaluate model.safetensors --dataset mnist --data-dir data --json",
    )
    parser.add_argument("model", metavar="MODEL",
                        help="a model file written by 'cnnlab train' or cnnlab.save, or a zoo model name "
                             "(untrained weights)")
    _dataset_arguments(parser, default=None)
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_evaluate)


def _load_model(source):
    """``(model, info)`` of MODEL: a model file, or a zoo name as ``viz`` and ``explain`` take it.

    A zoo model has untrained weights, and a note on stderr says so (stdout may
    be --json); its MNIST-shaped models are scored on the embedded sample.
    """
    import cnnlab
    from ..inspect import load_model

    check_model_source(source)
    if not os.path.isfile(source):
        with user_input():
            model, info, notice = load_model(source)
        print(f"note: {notice}", file=sys.stderr)
        return model, {**info, "dataset": "mnist-sample" if info["dataset"] == "mnist" else info["dataset"]}
    with user_input():
        return cnnlab.load(source), cnnlab.io.read_info(source)


def run_evaluate(args):
    import numpy as np

    import cnnlab

    model, info = _load_model(args.model)
    args.dataset = args.dataset or info.get("dataset") or "mnist-sample"
    _check_test_split(args, info)
    data = _load_data(args, train=args.split == "train", model_info=info)
    _check_inputs(args.model, info, data, args.dataset)
    _check_classes(info, data, args.dataset)
    outputs = cnnlab.predict(model, data)
    classes = [str(c) for c in getattr(data, "classes", range(outputs.shape[1]))]
    if outputs.shape[1] != len(classes):
        raise CLIError(f"the model has {outputs.shape[1]} outputs but {args.dataset} has {len(classes)} classes")
    loss = cnnlab.evaluate(model, data, metrics=())["loss"]
    targets = np.asarray(data.targets)
    predicted = outputs.argmax(axis=1)
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (targets, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    report = {"accuracy": float((predicted == targets).mean()), "loss": float(loss), "samples": int(len(targets)),
              "per_class_accuracy": dict(zip(classes, map(float, per_class))),
              "confusion_matrix": confusion.tolist(), "classes": classes}
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"accuracy {report['accuracy']:.4f}  loss {report['loss']:.4f}  ({report['samples']} images)")
    width = max(len(c) for c in classes)
    print("per-class accuracy:")
    for name, value in report["per_class_accuracy"].items():
        print(f"  {name:>{width}}  {value:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    cell = max(len(str(confusion.max())), width)
    print(" " * (width + 2) + " ".join(f"{c:>{cell}}" for c in classes))
    for name, row in zip(classes, confusion):
        print(f"  {name:>{width}}" + " ".join(f"{v:>{cell}}" for v in row))
    return 0


def _check_inputs(path, info, data, dataset):
    """Fail when the model file records an input shape other than the dataset's."""
    shape = tuple(info.get("input_shape") or ())
    if shape and _sample_shape(data) != shape:
        raise CLIError(f"{path} takes {'x'.join(map(str, shape))} inputs but {dataset} holds "
                       f"{'x'.join(map(str, _sample_shape(data)))} images; pick the --dataset it was trained on")


def _check_test_split(args, info):
    """Refuse ``--split test`` on the folder the model was trained on when it has no test/ folder."""
    from ..data.catalog import has_test_split

    if args.split != "test" or not args.dataset.startswith("folder:"):
        return
    with user_input("--dataset"):
        separate = has_test_split(args.dataset)
    trained_on = str(info.get("dataset") or "")
    folders = [os.path.realpath(name.removeprefix("folder:")) for name in (trained_on, args.dataset)]
    if trained_on.startswith("folder:") and folders[0] == folders[1] and not separate:
        raise CLIError(f"{args.dataset} has no test/ folder: its images are those {args.model} was trained on; "
                       f"give --split train to score them anyway, or a --dataset of images it has not seen")


def _check_classes(info, data, dataset):
    """Fail when a folder's classes are not the model's: its class k would be scored as the model's class k."""
    trained = [str(c) for c in info.get("classes") or []]
    found = [str(c) for c in getattr(data, "classes", [])]
    if not dataset.startswith("folder:") or not trained or found == trained:
        return
    unknown, absent = sorted(set(found) - set(trained)), sorted(set(trained) - set(found))
    detail = "; ".join(f"{label}: {names}" for label, names in (("classes the model does not know", unknown),
                                                                 ("model classes missing here", absent)) if names)
    raise CLIError(f"{dataset} must hold the classes the model was trained on; {detail or 'they differ in order'}")


# ---------------------------------------------------------------- predict
def add_predict_command(commands):
    parser = add_command(
        commands, "predict", "classify image files with a model file",
        "Classify images of any size or colour: each is converted the way the model's training data was\n"
        "(grayscale or RGB, resized to the model's input, scaled to [0, 1]). MNIST-style models see\n"
        "light digits on a dark background; with --invert auto (the default) a picture with a light\n"
        "background is inverted first.",
        "examples:\n  cnnlab predict runs/lenet5/model.safetensors my_digit.png\n"
        "  cnnlab predict model.safetensors a.png b.jpg --top-k 3 --json",
    )
    parser.add_argument("model", metavar="MODEL",
                        help="a model file written by 'cnnlab train' or cnnlab.save, or a zoo model name "
                             "(untrained weights)")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--top-k", type=_positive(int), default=1, help="how many classes to show (default: 1)")
    parser.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                        help="invert grayscale images (auto: when the background is light)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run_predict)


def load_image(path, input_shape, invert="auto"):
    """An image file as a float32 (C, H, W) array in [0, 1], converted to ``input_shape``."""
    import numpy as np
    from PIL import Image

    from ..data.images import read_image

    channels, height, width = input_shape
    if not os.path.isfile(path):
        raise CLIError(f"image {path!r} does not exist")
    with user_input():
        image = read_image(path)
    image = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255
    if channels == 1:
        border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
        if invert == "yes" or (invert == "auto" and border.mean() > 0.5):
            array = 1 - array
        return array[None]
    return array.transpose(2, 0, 1)


def run_predict(args):
    import numpy as np

    import cnnlab

    model, info = _load_model(args.model)
    if "input_shape" not in info:
        raise CLIError(f"{args.model} does not record its input shape; save it with cnnlab train or "
                       f"cnnlab.save(model, path, info={{'input_shape': [C, H, W], 'classes': [...]}})")
    batch = np.stack([load_image(path, info["input_shape"], args.invert) for path in args.images])
    logits = cnnlab.predict(model, batch)
    probabilities = cnnlab.functional.softmax(cnnlab.Tensor(logits), dim=1).array
    classes = info.get("classes") or [str(i) for i in range(logits.shape[1])]
    k = min(args.top_k, len(classes))
    results = []
    for path, p in zip(args.images, probabilities):
        top = np.argsort(-p)[:k]
        results.append({"image": path, "predictions": [{"class": classes[i], "probability": float(p[i])} for i in top]})
    if args.json:
        print(json.dumps({"results": results}))
        return 0
    for result in results:
        guesses = ", ".join(f"{g['class']} ({g['probability']:.1%})" for g in result["predictions"])
        print(f"{result['image']}: {guesses}")
    return 0
