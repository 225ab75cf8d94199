"""Recording on Wayland: the desktop portal (ScreenCast, GlobalShortcuts), frames from PipeWire, input from evdev.

    bus.py            the D-Bus seam the portal clients speak (`Bus`, typed `Variant`s, `BusCallError`); pure
    dbus.py           that seam over Gio: the only importer of Gio (GLib is shared with ui/tray.py)
    portal.py         one portal request: its Response signal, subscribed before the call; sessions (pure)
    screencast.py     org.freedesktop.portal.ScreenCast: capabilities, CreateSession -> SelectSources ->
                      Start -> OpenPipeWireRemote, the restore token, errors a person understands (pure)
    restore_token.py  the saved restore token (atomic, 0600, in the data dir)
    shortcuts.py      org.freedesktop.portal.GlobalShortcuts: bind "toggle" and "pause", Activated (pure)
    frame_pacing.py   damage-driven frames in, a frame at every grab out (the last one repeated) (pure)
    pipewire.py       GStreamer pipewiresrc -> appsink: the only importer of Gst
    screen.py         `PortalScreen`, the FrameSource the recorder uses on Wayland (portal + PipeWire)
    evdev.py          struct input_event records -> the recorder's Raw* input events (pure)
    evdev_devices.py  /dev/input/event* for people in the input group: finding, opening, reading

docs/wayland.md tells how it fits together and what each desktop offers.
"""
