"""``cnnlab explain``: a local web page that shows what any image CNN does with an image.

In the spirit of CNN Explainer (Wang et al., 2020), but for any cnnlab model:
pick or upload an image; see every conv and pool layer's maps and the class
probabilities; click a conv map element to see its arithmetic (input patch,
kernels, products, sum, bias, activation) computed from the real weights; play
with the output-size formula. The page is plain HTML, CSS and JavaScript in
``static/``, served with the JSON API of :mod:`cnnlab.explain.server`.

>>> from cnnlab.explain import ExplainApp, ExplainServer
>>> server = ExplainServer(ExplainApp.from_source("lenet5"), port=0)
>>> server.serve_forever()          # or: cnnlab explain lenet5
"""
from .app import ExplainApp
from .server import ExplainServer, serve

__all__ = ["ExplainApp", "ExplainServer", "serve"]
