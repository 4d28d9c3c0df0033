"""Plumbing shared by every core package: atomic writes, JSON caches, user folders, settings, cancellation,
notes as data, the progress clock.

Entry points: ``safe_files.atomic_write_*`` / ``set_aside`` / ``JsonCache``, ``paths.user_cache_dir``,
``settings.load_settings``, ``tasks_api.Cancelled``, ``notes.Note`` / ``notes.describe``, ``clock.RateClock``.
"""
