"""Media: what the recorder and the bundle do with pixels and video bytes. Each library has one module.

    capture/    the screen as frames: a small FrameSource protocol with capability flags, one module per
                backend (mss_screen: X11, Windows, macOS through python-mss; null: tests), picked by
                capture/factory.py
    frames.py   frames as numpy arrays (the one numpy importer): wrap a capture buffer, blank, test pattern
    images.py   image work (the one cv2 importer): colour conversion, resize, PNG/JPEG, a composed picture
    video.py    video (the one PyAV importer): the fragmented H.264 encoder and every read of a recording
    mp4.py      the MP4 box parser (pure: bytes in, offsets out)

Nothing here knows sessions or bundles; errors come out as the traycap error tree.
"""
