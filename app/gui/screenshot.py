"""Pictures of the window: QWidget.grab() of the whole window with every OpenGL view's own framebuffer painted
over it (grab() cannot see into a native GL window; containers of one carry it as `.gl_window`).
Imports PySide6 only.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


def grab_window(window: QtWidgets.QWidget) -> QtGui.QPixmap:
    """The window as it looks on screen, OpenGL views included."""
    pixmap = window.grab()
    painter = QtGui.QPainter(pixmap)
    try:
        for container in window.findChildren(QtWidgets.QWidget):
            gl_window = getattr(container, "gl_window", None)
            if gl_window is None or not container.isVisible() or container.width() <= 0:
                continue
            image = gl_window.grabFramebuffer()
            top_left = container.mapTo(window, QtCore.QPoint(0, 0))
            painter.drawImage(QtCore.QRect(top_left, container.size()), image)
    finally:
        painter.end()
    return pixmap
