"""One module per ``imgclf`` sub-command; see :mod:`imgclf_gui.cli`."""
