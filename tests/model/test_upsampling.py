"""NearestUpsampling2D is Keras's nearest UpSampling2D, in ops that TFLite delegates."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from hg_keras.model.upsampling import NearestUpsampling2D


@pytest.mark.parametrize("factor", [2, 3])
def test_equals_keras_nearest_upsampling(factor):
    x = np.random.default_rng(0).normal(size=(2, 5, 7, 3)).astype("float32")
    ours = np.asarray(NearestUpsampling2D(factor)(x))
    theirs = np.asarray(keras.layers.UpSampling2D(factor, interpolation="nearest")(x))
    assert ours.shape == (2, 5 * factor, 7 * factor, 3)
    np.testing.assert_array_equal(ours, theirs)


def test_unknown_spatial_size_falls_back_to_repeat():
    inputs = keras.Input((None, None, 4))
    model = keras.Model(inputs, NearestUpsampling2D(2)(inputs))
    x = np.random.default_rng(1).normal(size=(1, 3, 6, 4)).astype("float32")
    np.testing.assert_array_equal(np.asarray(model(x)), x.repeat(2, axis=1).repeat(2, axis=2))


def test_tflite_graph_has_no_tile_or_run_time_shapes():
    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, NearestUpsampling2D(2)(keras.layers.Conv2D(16, 1)(inputs)))
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    interpreter = tf.lite.Interpreter(model_content=converter.convert())
    op_names = {op["op_name"] for op in interpreter._get_ops_details()}
    assert op_names == {"CONV_2D", "CONCATENATION", "RESHAPE"}
    interpreter.allocate_tensors()
    x = np.random.default_rng(2).normal(size=(1, 8, 8, 16)).astype("float32")
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    result = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(result, np.asarray(model(x)), atol=1e-5)


def test_config_round_trip_and_bad_factor():
    layer = NearestUpsampling2D(3, name="up")
    assert NearestUpsampling2D.from_config(layer.get_config()).factor == 3
    with pytest.raises(ValueError, match="factor must be a positive integer"):
        NearestUpsampling2D(1.5)
