"""The Dataset tab: classes, thumbnails, labelling keys, Check Data.

Entry point: ``dataset_tab.DatasetTab``.
"""
