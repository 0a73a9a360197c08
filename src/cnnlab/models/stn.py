"""A spatial transformer network (Jaderberg et al., 2015) in front of a small CNN."""
import numpy as np

from .. import functional as F
from .. import nn
from ..shapes import conv_output_size
from .registry import register


@register("stn", "spatial transformer (localisation net -> affine_grid -> grid_sample) before a small CNN",
          (1, 28, 28), "mnist")
class SpatialTransformerNet(nn.Module):
    """Spatial transformer network, from Jaderberg et al., "Spatial Transformer Networks" (2015), as in
    PyTorch's STN tutorial: a localisation net (conv 8@7x7, pool, ReLU, conv 10@5x5, pool, ReLU, then
    32 -> 6 dense units) predicts a 2x3 affine matrix theta; ``affine_grid`` and ``grid_sample`` warp
    the input with it; a small CNN classifies the warped image. The last localisation layer starts
    at zero weights and the identity transform as bias, so training begins from "no warp".
    """

    def __init__(self, in_channels=1, input_size=28, num_classes=10):
        super().__init__()
        loc_side = conv_output_size(conv_output_size(input_size, 7) // 2, 5) // 2
        cls_side = conv_output_size(conv_output_size(input_size, 5) // 2, 5) // 2
        self.localization = nn.Sequential(
            nn.Conv2d(in_channels, 8, 7), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(8, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
        )
        self.fc_loc = nn.Sequential(nn.Flatten(), nn.Linear(10 * loc_side * loc_side, 32), nn.ReLU(), nn.Linear(32, 6))
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(10, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(20 * cls_side * cls_side, 50), nn.ReLU(), nn.Dropout(), nn.Linear(50, num_classes),
        )
        self.fc_loc[3].weight.array[...] = 0
        self.fc_loc[3].bias.array[...] = np.array([1, 0, 0, 0, 1, 0], dtype=self.fc_loc[3].bias.dtype)

    def transform(self, x):
        """The input warped by the predicted affine transform."""
        theta = self.fc_loc(self.localization(x)).reshape(-1, 2, 3)
        grid = F.affine_grid(theta, x.shape, align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    def forward(self, x):
        return self.classifier(self.features(self.transform(x)))
