"""The Classify tab: one image with its score bars, or a batch table; corrections back into the dataset.

Entry points: ``classify_tab.ClassifyTab``, ``classify_session.Classifier``.
"""
