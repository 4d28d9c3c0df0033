"""Qt pieces every tab uses: the background-task runner, the shared project model, the window's preferences,
thumbnails, previews.

Entry points: ``tasks.TaskRunner`` (task slots), ``project_model.ProjectModel``, ``preferences.Preferences``,
``thumbnail_grid.ThumbnailGrid``.
"""
