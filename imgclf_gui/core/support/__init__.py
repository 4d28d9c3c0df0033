"""Plumbing shared by every core package: atomic writes, JSON caches, user folders, settings, cancellation.

Entry points: ``atomic.atomic_write_*``, ``paths.user_cache_dir``, ``settings.load_settings``,
``tasks_api.Cancelled``.
"""
