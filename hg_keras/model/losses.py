"""The training loss of paper §3.4: MSE against the same target on every stack, summed."""

from __future__ import annotations

import keras


def heatmap_losses(model: keras.Model) -> dict:
    """One mean-squared-error loss per model output, for ``model.compile(loss=...)``.

    Keras adds the losses of all outputs, so the total is the sum over stacks of the MSE
    between each stack's heatmaps and the (shared) target heatmaps.

    Args:
        model: a model from ``build_stacked_hourglass`` (any variant).

    Returns:
        dict ``{output_name: keras.losses.MeanSquaredError()}``.

    Example:
        >>> model = build_stacked_hourglass(num_stacks=2)
        >>> model.compile(optimizer=keras.optimizers.RMSprop(2.5e-4), loss=heatmap_losses(model))
    """
    return {name: keras.losses.MeanSquaredError(name=f"{name}_mse") for name in model.output_names}
