"""Trained models: the bundle on disk, a project's runs, exports, and scoring image files.

Entry points: ``bundle.ModelBundle`` (``ModelBundle.from_training(result)`` makes one of a training run),
``runs.record_training`` / ``runs.active_model_path``, ``predict.open_predictor`` / ``predict.classify_files``,
``exporter.export_bundle``.
"""
