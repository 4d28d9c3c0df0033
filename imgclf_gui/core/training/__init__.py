"""Training a head on bottlenecks: settings, data checks, splits, the head, evaluation, the whole run.

Entry points: ``trainer.train`` (-> ``TrainResult``, plain data; ``core/models`` keeps it),
``config.TrainConfig`` / ``config.SETTINGS`` (every setting declared once), ``checks.check_dataset`` (and the
images-per-class thresholds Check Data shares), ``head.train_head``, ``evaluation.evaluate_probabilities``,
``summary.summarize``. This package never imports ``core/models``.
"""
