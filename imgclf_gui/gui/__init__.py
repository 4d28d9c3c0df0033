"""The desktop GUI (Qt). Everything here is a thin client of :mod:`imgclf_gui.core`."""
