"""Browser tests: JupyterLab 4 and Notebook 7 in Debian's chromium, driven by Playwright."""
