"""A project on disk: class folders are the truth; ``.imgclf/`` holds imgclf's own state.

Entry points: ``layout`` (every path under ``.imgclf/``), ``scan.scan_samples`` / ``scan.class_names``,
``manifest.open_project``, ``journal.Journal`` (journaled, undoable moves), ``lock.try_lock`` /
``lock.hold_project`` (one writer per project), ``rules`` (class names, labelling keys, plans for merging,
deleting and quarantining), ``demo_project.make_demo_project``.
"""
