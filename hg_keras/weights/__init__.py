"""Pretrained weights: import of the official PyTorch port's MPII checkpoints.

Example:
    >>> from hg_keras.weights import from_pytorch_port, save_model_atomically
    >>> model = from_pytorch_port("checkpoint.pt")  # needs: pip install 'hg-keras[convert]'
    >>> save_model_atomically(model, "hg8_mpii.keras")
"""

from hg_keras.weights.port_names import (
    PortArchitecture,
    infer_port_architecture,
    port_layer_map,
    residual_pairs,
)
from hg_keras.weights.pytorch_port import (
    from_pytorch_port,
    load_port_weights,
    model_for_port_architecture,
    read_port_state_dict,
    strip_key_prefix,
)
from hg_keras.weights.saving import save_model_atomically

__all__ = [
    "PortArchitecture",
    "from_pytorch_port",
    "infer_port_architecture",
    "load_port_weights",
    "model_for_port_architecture",
    "port_layer_map",
    "read_port_state_dict",
    "residual_pairs",
    "save_model_atomically",
    "strip_key_prefix",
]
