"""Bottlenecks: the extraction pipeline and its on-disk cache (record store, hash index, unreadable memory).

Entry points: ``extraction.extract_features``, ``cache.open_project_cache``, ``cache.cached_features``;
content hashes come from ``core/support/file_hash.content_hash``.
"""
