"""Guard against a reference-counting defect of some Qt binding builds that would crash the app. Imports PySide6
and ctypes.

PySide6 6.12.0 on CPython 3.11 returns None (from every void method: setText, update, setPos ...) and True (from
SignalInstance.emit) without a new reference, so each such call made from Python drops one reference to None or
True. pyqtgraph makes hundreds of them per redraw; after a few seconds at 30-60 fps the count reaches zero and
the interpreter aborts ("Fatal Python error: none_dealloc: deallocating None"). requirements.txt therefore pins
PySide6-Essentials 6.11.3, which is clean; CPython >= 3.12 is immune (its singletons are immortal).

neutralise_refcount_defect() measures the defect with a few probe calls and, only when it is present (someone
installed the broken build), gives None, True, False, NotImplemented and Ellipsis a reference count so large it
cannot reach zero: what CPython 3.12 does for immortal objects. Those singletons are never freed anyway, so the
extra references change nothing else.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6 import QtCore

_IMMORTAL_BOOST = 1 << 40   # ~10^12 leaked references before trouble: centuries at thousands of calls a second
_PROBE_CALLS = 16
_SINGLETONS = (None, True, False, NotImplemented, Ellipsis)
_applied = False


class _Probe(QtCore.QObject):
    ping = QtCore.Signal()


def leaks_singleton_references() -> bool:
    """True when calls into this PySide6 build lose references to None or True."""
    if sys.version_info >= (3, 12):
        return False   # immortal singletons: reference counts no longer matter
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")   # a void method: returns None
        probe.ping.emit()              # returns True
    lost_none = none_before - sys.getrefcount(None)
    lost_true = true_before - sys.getrefcount(True)
    return lost_none >= _PROBE_CALLS or lost_true >= _PROBE_CALLS


def neutralise_refcount_defect() -> bool:
    """Apply the guard once if the defect is present; returns whether it is (now or earlier) applied."""
    global _applied
    if _applied:
        return True
    if not leaks_singleton_references():
        return False
    for singleton in _SINGLETONS:
        # ob_refcnt is the first field of every CPython object, at the object's address.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _IMMORTAL_BOOST
    _applied = True
    print("hand tracker: this PySide6 build leaks references (see app/gui/qt_compat.py); guarded. "
          "Install PySide6-Essentials==6.11.3 to avoid it.", file=sys.stderr)
    return True
