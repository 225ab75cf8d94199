"""Media: what the recorder and the bundle do with pixels and video bytes. Each library has one module.

    capture/    the screen as frames: a small FrameSource protocol with capability flags, one module per
                backend (xdamage: X11 read when DAMAGE says it changed; mss_screen: X11, Windows, macOS
                through python-mss, made damage-driven by frame difference in changes.py; null: tests),
                picked by capture/factory.py
    frames.py   frames as numpy arrays (the one numpy importer): wrap a capture buffer, blank, test pattern,
                compare, fingerprint, yuv420p plane views
    regions.py  where a frame changed: rectangles (pure)
    images.py   pictures through Pillow: PNG screenshots, JPEG/PNG, resize, the composed preview picture
    picture.py  the encoder's yuv420p input, converted (swscale, PyAV) only where the frame changed
    encoders.py which H.264 encoder records: the setting, hardware candidates, the probe's verdict (pure)
    video.py    video (PyAV): the fragmented H.264 encoder and every read of a recording
    mp4.py      the MP4 box parser (pure: bytes in, offsets out)

Nothing here knows sessions or bundles; errors come out as the traycap error tree.
"""
