"""hg_keras: Stacked Hourglass Networks for human pose estimation in Keras 3.

Example:
    >>> import hg_keras
    >>> model = hg_keras.build_stacked_hourglass(num_stacks=2, num_joints=16)
    >>> [tuple(o.shape) for o in model.outputs]
    [(None, 64, 64, 16), (None, 64, 64, 16)]
"""

from hg_keras.model import build_ablation, build_stacked_hourglass

__version__ = "0.1.0"

__all__ = ["build_ablation", "build_stacked_hourglass", "__version__"]
