"""What is wrong with a dataset: Check Data (unreadable files, duplicates, small classes).

Entry point: ``health.check_health``.
"""
