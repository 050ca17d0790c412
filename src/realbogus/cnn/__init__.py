"""The paper's CNNs: builder and presets (models), batch pipeline (data), training (training).

Importing this package starts the Keras backend without TensorFlow's start-up noise
(:mod:`realbogus.cnn.backend`; ``TF_CPP_MIN_LOG_LEVEL=0`` shows it again).
"""

from realbogus.cnn.backend import start_backend_quietly

start_backend_quietly()
