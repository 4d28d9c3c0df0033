"""The window around the tabs: main window, start dialogs, error handling, about, preferences.

Entry points: ``main_window.MainWindow``, ``start_dialogs.offer_start``, ``errors.ErrorHandler``.
"""
