"""Qt pieces every tab uses: the background-task runner, the shared project model, the window's preferences,
thumbnails, previews.

Entry points: ``tasks.TaskRunner`` (task slots), ``project_model.ProjectModel``, ``preferences.Preferences``,
``thumbnail_grid.ThumbnailGrid``, ``mislabel_review.MislabelReview`` (possibly mislabelled images, one key at a
time; the Training tab and Check Data both show it) and ``review_list`` (captioned lists, an Undo of a view's
own moves).
"""
