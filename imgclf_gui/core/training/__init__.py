"""Training a head on bottlenecks: settings, data checks, splits, the head, evaluation, the whole run.

Entry points: ``trainer.train`` (-> ``TrainResult``), ``trainer.TrainConfig``, ``trainer.check_dataset``,
``head.train_head``, ``evaluation.evaluate_probabilities``, ``summary.summarize``.
"""
