"""The desktop portal (xdg-desktop-portal) over D-Bus: screen casts and global shortcuts on Wayland.

    bus.py            the D-Bus seam the portal clients speak (`Bus`, typed `Variant`s, `BusCallError`); pure
    dbus.py           that seam over Gio: the only importer of Gio (GLib is shared with ui/tray.py)
    request.py        one portal request: its Response signal, subscribed before the call; sessions (pure)
    screencast.py     org.freedesktop.portal.ScreenCast: capabilities, CreateSession -> SelectSources ->
                      Start -> OpenPipeWireRemote, the restore token, errors a person understands (pure)
    restore_token.py  the saved restore token (atomic, 0600, in the data dir)
    shortcuts.py      org.freedesktop.portal.GlobalShortcuts: bind "toggle" and "pause", Activated (pure)

Who uses it: media/capture/portal_screen.py reads a cast's frames from PipeWire (the recorder's frame
source on Wayland); the tray binds the shortcuts. Nothing here knows sessions or uploads.
docs/wayland.md tells how it fits together and what each desktop offers.
"""
