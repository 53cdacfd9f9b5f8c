"""Pictures of the window: QWidget.grab() of the whole window with every OpenGL view's own framebuffer painted
over it (grab() alone misses what a GL item draws with QPainter, such as the 3-D axis labels).
Imports PySide6 only.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtOpenGLWidgets, QtWidgets


def grab_window(window: QtWidgets.QWidget) -> QtGui.QPixmap:
    """The window as it looks on screen, OpenGL views included."""
    pixmap = window.grab()
    painter = QtGui.QPainter(pixmap)
    try:
        for view in window.findChildren(QtOpenGLWidgets.QOpenGLWidget):
            if not view.isVisible() or view.width() <= 0 or view.height() <= 0:
                continue
            image = view.grabFramebuffer()
            top_left = view.mapTo(window, QtCore.QPoint(0, 0))
            painter.drawImage(QtCore.QRect(top_left, view.size()), image)
    finally:
        painter.end()
    return pixmap
