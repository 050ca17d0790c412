"""The paper's CNNs: builder and presets (models), batch pipeline (data), training (training)."""
