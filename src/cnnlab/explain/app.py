"""What the explainer page asks of a model, as JSON-able answers: no HTTP here (see :mod:`.server`)."""
import base64
import hashlib
import io
import math
from collections import OrderedDict

import numpy as np

from ..data.images import read_image
from ..inspect import _map_layers, explain_conv, load_model, prepare_image, probabilities, to_input, trace
from ..nn.conv import Conv2d

MAX_CHANNELS = 16  # maps sent per layer
MAX_VALUES = 65_536  # numbers sent per layer: fewer channels, then every k-th row and column
CACHE_SIZE = 32  # recent input images kept for /api/explain
MAX_UPLOAD_PIXELS = 12_000_000  # 4000 x 3000, a phone photo: under 200 MB while it is fitted to the model's input


class ExplainApp:
    """A model and what the page shows of it: layers, sample images, predictions, one conv value's arithmetic.

    Args:
        model: a :class:`cnnlab.nn.Module` taking ``(N, C, H, W)`` batches (C = 1 or 3).
        info: dict with ``input_shape`` [C, H, W] and optionally ``classes``, ``model``, ``normalize``.
        notice: a line for the page's banner (e.g. "untrained weights").
        name: what the page calls the model.
        max_channels: the most maps sent per layer.
        max_pixels: the most pixels an uploaded image may have; refused from its header, before decoding.

    >>> app = ExplainApp.from_source("lenet5")
    >>> result = app.predict(png_bytes)
    >>> app.explain({"layer": "features.0", "channel": 0, "y": 3, "x": 4})["value"]
    """

    def __init__(self, model, info, notice=None, name=None, max_channels=MAX_CHANNELS, max_pixels=MAX_UPLOAD_PIXELS):
        self.model, self.info, self.notice = model.eval(), dict(info), notice
        self.name = name or info.get("model") or type(model).__name__
        self.input_shape = tuple(int(n) for n in info["input_shape"])
        if self.input_shape[0] not in (1, 3):
            raise ValueError(f"explain: the page shows 1- or 3-channel image models, but input_shape="
                             f"{list(self.input_shape)}")
        self.max_channels, self.max_pixels = max_channels, max_pixels
        calls, output = trace(self.model, np.zeros((1,) + self.input_shape, dtype=np.float32))
        self.calls_template = [(call.name, type(call.module).__name__, _shape(call.output), call.module,
                                _shape(call.input)) for call in calls]
        outputs = int(np.asarray(output.array).size)
        classes = info.get("classes") or [str(i) for i in range(outputs)]
        if len(classes) != outputs:
            raise ValueError(f"explain: the model has {outputs} outputs but its info names {len(classes)} classes")
        self.classes = [str(c) for c in classes]
        self._images = OrderedDict()
        self._samples = None

    @classmethod
    def from_source(cls, source, **kwargs):
        """The app for a model file or zoo name (see :func:`cnnlab.inspect.load_model`)."""
        model, info, notice = load_model(source)
        return cls(model, info, notice, name=info.get("model") or str(source), **kwargs)

    # -------------------------------------------------------------- GET
    def model_json(self):
        """``GET /api/model``: name, input shape, classes, notice and every layer that ran, in order."""
        layers = []
        for name, kind, shape, module, input_shape in self.calls_template:
            layer = {"name": name, "type": kind, "shape": shape, "maps": _is_map(module, shape)}
            if isinstance(module, Conv2d):
                layer["conv"] = {"in_channels": module.in_channels, "out_channels": module.out_channels,
                                 "kernel_size": list(module.kernel_size), "stride": list(module.stride),
                                 "padding": [list(p) for p in module._padding_pairs(input_shape[1:])],
                                 "dilation": list(module.dilation), "groups": module.groups}
            layers.append(layer)
        return {"name": self.name, "input_shape": list(self.input_shape), "classes": self.classes,
                "notice": self.notice, "layers": layers, "max_channels": self.max_channels}

    def samples_json(self):
        """``GET /api/samples``: a few images to start from, as PNG data URLs at the model's input size."""
        if self._samples is None:
            self._samples = [{"id": i, "label": label, "image": _data_url(image)}
                             for i, (label, image) in enumerate(sample_images(self.input_shape, self.classes))]
        return {"samples": self._samples}

    # ------------------------------------------------------------- POST
    def predict(self, body, invert="auto"):
        """``POST /api/predict``: class probabilities and every conv/pool layer's maps for an image file's bytes.

        Raises :class:`~cnnlab.data.images.ImageTooLarge` for more than ``max_pixels`` pixels
        and ValueError for anything else that is not a readable image.
        """
        upload = read_image(bytes(body), self.max_pixels, name="the uploaded image")
        image = prepare_image(upload, self.input_shape, invert=invert)
        image_id = hashlib.sha1(image.tobytes()).hexdigest()[:16]
        self._remember(image_id, image)
        calls, output = trace(self.model, to_input(image, self.info))
        probs = probabilities(calls, output)
        return {
            "image_id": image_id,
            "input": {"shape": list(image.shape), "pixels": image.tolist()},
            "classes": self.classes,
            "probabilities": [round(float(p), 6) for p in probs],
            "prediction": int(np.argmax(probs)),
            "layers": [self._layer_json(name, kind, maps) for name, kind, maps in _map_layers(calls)],
        }

    def explain(self, request):
        """``POST /api/explain``: the arithmetic of one conv output value (see :func:`cnnlab.inspect.explain_conv`).

        ``request``: ``{"layer": str, "channel": int, "y": int, "x": int, "image_id": str (optional:
        the latest image)}``.
        """
        if not isinstance(request, dict):
            raise ValueError("the body must be a JSON object such as "
                             '{"layer": "features.0", "channel": 0, "y": 3, "x": 4}')
        missing = [key for key in ("layer", "channel", "y", "x") if key not in request]
        if missing:
            raise ValueError(f"the request needs {', '.join(missing)} (got keys {sorted(request)})")
        if not isinstance(request["layer"], str):
            raise ValueError(f"layer must be a string, got layer={request['layer']!r}")
        image = self._recall(request.get("image_id"))
        return explain_conv(self.model, image, request["layer"], request["channel"], request["y"], request["x"],
                            info=self.info)

    # ---------------------------------------------------------- helpers
    def _remember(self, image_id, image):
        self._images[image_id] = image
        self._images.move_to_end(image_id)
        while len(self._images) > CACHE_SIZE:
            self._images.popitem(last=False)

    def _recall(self, image_id):
        if image_id is None:
            if not self._images:
                raise LookupError("no image yet: POST one to /api/predict first")
            return next(reversed(self._images.values()))
        if image_id not in self._images:
            raise LookupError(f"unknown image_id {image_id!r}: POST the image to /api/predict again")
        return self._images[image_id]

    def _layer_json(self, name, kind, maps):
        channels, height, width = maps.shape
        shown = min(channels, self.max_channels, max(1, MAX_VALUES // (height * width)))
        step = max(1, math.ceil(math.sqrt(height * width / MAX_VALUES)))
        values = maps[:shown, ::step, ::step].astype(np.float64)
        scale = float(np.abs(values).max(initial=0.0))
        digits = 3 - math.floor(math.log10(scale)) if scale > 0 else 0  # 3-4 significant digits
        return {"name": name, "type": kind, "shape": [channels, height, width], "channels": shown, "step": step,
                "min": float(maps.min()), "max": float(maps.max()),
                "maps": np.round(values, digits).tolist()}


def _shape(output):
    return list(np.shape(getattr(output, "array", output))[1:])


def _is_map(module, shape):
    from ..inspect import is_map_layer

    return is_map_layer(module) and len(shape) == 3


def _data_url(image):
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def sample_images(input_shape, classes=None):
    """``[(label, uint8 (C, H, W))]``: MNIST test digits for 1x28x28 models, else a photo and drawn patterns."""
    channels, height, width = input_shape
    if tuple(input_shape) == (1, 28, 28):
        from ..data import MNISTSample

        test = MNISTSample(train=False)
        first = [int(np.flatnonzero(test.targets == digit)[0]) for digit in range(10)]
        return [(f"digit {test.targets[i]}", test.data[i]) for i in first]
    import os

    photo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets", "grace_hopper.jpg")
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width]).reshape(2, 1, 1) * 2 - 1
    radius = np.hypot(y, x)
    patterns = {
        "stripes": (np.sin(x * 12) > 0),
        "checkerboard": ((np.floor((x + 1) * 4) + np.floor((y + 1) * 4)) % 2 == 1),
        "rings": (np.sin(radius * 18) > 0),
        "disc": radius < 0.6,
        "diagonal edge": x + y > 0,
    }
    samples = [("photo", prepare_image(photo, input_shape))]
    for index, (label, mask) in enumerate(patterns.items()):
        gray = np.where(mask, 230, 25).astype(np.uint8)
        colour = np.stack([gray, np.roll(gray, index * 3, axis=1), 255 - gray]) if channels == 3 else gray[None]
        samples.append((label, np.ascontiguousarray(colour[:channels])))
    return samples
