"""Qt pieces every tab uses: the background-task runner, the shared project model, thumbnails, previews.

Entry points: ``tasks.TaskRunner``, ``project_model.ProjectModel``, ``thumbnail_grid.ThumbnailGrid``.
"""
