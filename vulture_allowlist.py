"""Names vulture cannot see used, each with the reason. vulture reads this file; nothing runs it.

Everything else vulture reports is deleted, not listed here. `_` stands for "an attribute of some object".
"""

# -- called by a library, by name -------------------------------------------------------------------------
_.optimizations  # core/backbones/extractor.py: read by TensorFlow's TFLiteConverter
_.find_class  # core/backbones/safe_pickle.py: pickle.Unpickler calls it for every global in a file
_.persistent_load  # core/backbones/safe_pickle.py: pickle.Unpickler calls it for torch storages
_.persistent_id  # tests/core/test_safe_pickle_hostile.py: pickle.Pickler calls it to write torch storages
_.__qualname__  # tests/core/test_safe_pickle_hostile.py: pickle names the fake torch function by it
_._utils  # tests/core/test_safe_pickle_hostile.py: the fake torch package's submodule, found by pickle
_.optionxform  # tests/test_packaging_desktop.py: ConfigParser calls it to fold key names
_.find_spec  # tests/qt_blocker.py: the import system calls it on every finder in sys.meta_path
pytest_sessionstart  # tests/qt_blocker.py: a pytest hook
pytest_report_header  # tests/qt_blocker.py: a pytest hook
_.__module__  # core/training/config.py: makes the generated settings dataclasses pickle and print as ours
_.n_samples  # core/review/map_layout.py: openTSNE reads it from an Affinities object
_.to_new  # core/review/map_layout.py: openTSNE calls it to find a new image's neighbours in a saved map
_.P  # core/review/map_layout.py: openTSNE checks an Affinities object's matrix
_.__traceback__  # gui/common/tasks.py: cleared so a failed task's frames (and QObjects in them) are freed

# -- Qt virtual functions, which Qt calls -----------------------------------------------------------------
_.sizeHint  # gui/common/drop_area.py, gui/dataset/class_list.py
_.paint  # gui/dataset/class_list.py (item delegate)
_.paintEvent  # gui/common/drop_area.py
_.dragLeaveEvent  # gui/classify/classify_tab.py
_.dragMoveEvent  # gui/common/thumbnail_grid.py, gui/dataset/class_list.py
_.mimeTypes  # gui/common/thumbnail_grid.py (the model's drag types)
_.supportedDragActions  # gui/common/thumbnail_grid.py
_.decorationSize  # gui/common/thumbnail_grid.py: a field of the style option Qt's delegate paints from
_.filterAcceptsRow  # gui/classify/batch_results.py (proxy model)
_.eventFilter  # gui/training/settings_form.py (installed with installEventFilter)
source_parent  # gui/classify/batch_results.py: filterAcceptsRow's argument, unused by our filter

# -- loaded by name -------------------------------------------------------------------------------------
dask_setup  # core/cluster/local_worker.py, tests/cluster_preload.py: Dask calls a preload module's dask_setup
DatasetTab  # gui/shell/main_window.py imports the tabs from a table of module and class names
ClassifyTab  # likewise

# -- data written to files (JSON through dataclasses.asdict), for people and later versions to read -------
_.ships_with_imgclf  # core/diagnostics.py: `imgclf doctor --json`
_.schema_version  # core/project/manifest.py: manifest.json, for migrations
_.app_version  # core/project/manifest.py: manifest.json, which version wrote it

# -- kept on purpose --------------------------------------------------------------------------------------
_.journal_file  # core/project/layout.py names every path under .imgclf/, including files the
_.lock_file  # work in progress adds (the project lock); drop an entry once it is used
_._payload  # gui/common/tasks.py: holds the task's function and arguments until the GUI thread frees them
_.me  # tests/gui/test_gc_guard.py: a reference cycle, which only the cycle collector can free
qapp  # tests/gui/conftest.py: fixtures that need the QApplication ask for it by this argument name
pytest_runtest_protocol  # tests/hang_watch.py: a pytest hook, called by pytest by its name
nextitem  # tests/hang_watch.py: pytest passes the hook's arguments by these names

# -- read by libraries we hand them to ------------------------------------------------------------------
_.representative_dataset  # core/models/export_int8.py: TensorFlow's converter calls it while quantising
_.supported_ops  # core/models/export_int8.py: the converter's integer-only kernels
_.producer_name  # core/models/export_onnx.py: written into the ONNX file, shown by model viewers
