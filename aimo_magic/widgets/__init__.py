"""Notebook widgets. ``ModelSelector`` lives in ``selector``, the only module that imports
ipywidgets, so that loading the extension never pays for it.
"""
