"""Export and serving: BN folding, TF Serving SavedModel, TFLite, ONNX, photo prediction.

Example:
    >>> from hg_keras.export import export_saved_model, export_tflite, PosePredictor
    >>> version_dir = export_saved_model(model, MPII_INFO)      # saved_models/hourglass/1
    >>> export_tflite(version_dir, quantizations=("none", "fp16"))
    >>> PosePredictor(model, MPII_INFO).predict([image])[0].keypoints_xy.shape
    (16, 2)
"""

from hg_keras.export.bn_folding import (
    ChannelAffine,
    ChannelShift,
    fold_batch_norm,
    foldable_pairs,
    shift_through_relu_pairs,
)
from hg_keras.export.cropping import (
    BOX_SCALE_PADDING,
    box_center_scale,
    box_center_scale_np,
    crop_person,
    decode_image_bytes,
    to_rgb_float_np,
)
from hg_keras.export.predictor import (
    DEFAULT_PRESENCE_THRESHOLD,
    PosePrediction,
    PosePredictor,
    SavedModelPredictor,
    read_image,
)
from hg_keras.export.saved_model import (
    HEATMAPS,
    SERVING_DEFAULT,
    WITH_BOX,
    PoseServingModule,
    export_saved_model,
    next_version,
)
from hg_keras.export.tflite import (
    TFLiteHeatmapModel,
    convert_to_tflite,
    export_tflite,
    invoke_in_chunks,
    invoke_in_parallel,
    keypoint_agreement,
)

__all__ = [
    "BOX_SCALE_PADDING",
    "DEFAULT_PRESENCE_THRESHOLD",
    "HEATMAPS",
    "SERVING_DEFAULT",
    "WITH_BOX",
    "ChannelAffine",
    "ChannelShift",
    "PosePrediction",
    "PosePredictor",
    "PoseServingModule",
    "SavedModelPredictor",
    "TFLiteHeatmapModel",
    "box_center_scale",
    "box_center_scale_np",
    "convert_to_tflite",
    "crop_person",
    "decode_image_bytes",
    "export_saved_model",
    "export_tflite",
    "fold_batch_norm",
    "foldable_pairs",
    "invoke_in_chunks",
    "invoke_in_parallel",
    "keypoint_agreement",
    "shift_through_relu_pairs",
    "next_version",
    "read_image",
    "to_rgb_float_np",
]
