"""Reviewing a dataset: what is wrong with it (Check Data, possibly mislabelled images) and what the inbox is.

Entry points: ``health.check_health``, ``mislabels.project_mislabels``, ``inbox.project_suggestions`` (a class
for every inbox image, from ``suggestions.train_quick_model``).
"""
