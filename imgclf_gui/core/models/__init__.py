"""Trained models: the bundle on disk, a project's runs, exports, scoring image files and what it writes.

Entry points: ``bundle.ModelBundle`` (``ModelBundle.from_training(result)`` makes one of a training run),
``runs.record_training`` / ``runs.active_model_path``, ``predict.open_predictor`` / ``predict.score_files``
(THE file -> scores path) / ``predict.is_unsure``, ``outputs.write_csv`` / ``outputs.sort_into``,
``exporter.export_bundle`` (export folders of ``export_formats.FORMATS``, each self-tested, with a predict.py).
"""
