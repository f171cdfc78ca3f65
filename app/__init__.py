"""Head360 Studio: the DearPyGui desktop application (one panel per file under ``app/panels``).

Nothing here is imported by the library. ``app.display`` is light (ctypes only) so that the command line
can check for a display before DearPyGui is imported: DearPyGui aborts the whole process when GLFW cannot
open one. ``app.studio.run_studio`` opens the window.
"""
