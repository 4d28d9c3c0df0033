"""The Training tab: settings, live plots, runs and the report.

Entry points: ``training_tab.TrainingTab``, ``training_session.TrainingSession``.
"""
