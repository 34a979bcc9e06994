"""Safe rendering of the daemons' configuration files.

Renderers take typed parameter dataclasses and return text; every value is validated first
(`values`), and refusals raise `ConfigValueError` naming the parameter. `atomic_write` puts the text in place.
"""

from __future__ import annotations

from mailadmin.configfiles.files import HEADER_MARK, atomic_write, fsync_dir, is_hand_edited, with_header
from mailadmin.configfiles.values import ConfigValueError

__all__ = ["HEADER_MARK", "ConfigValueError", "atomic_write", "fsync_dir", "is_hand_edited", "with_header"]
