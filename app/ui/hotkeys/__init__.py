"""Push-to-talk from anywhere: a global key (X11 grab or the desktop portal) and ``hearken talk``.

``keyspec`` turns the preference ("Ctrl+Alt+Space") into what each backend needs, ``x11`` grabs
it on an X server, ``portal`` binds it through ``org.freedesktop.portal.GlobalShortcuts``, and
``manager`` picks one at run time and says which and why.  ``keyspec`` imports no Qt.
"""
