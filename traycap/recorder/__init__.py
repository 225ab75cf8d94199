"""The recorder: screen video, screenshots and input actions on one clock; export to a zip bundle.

    api.py         RecorderState, RecorderEvent(Kind), the Recorder protocol (dependency-free types)
    controller.py  RecordingController (start/pause/resume/stop/toggle); takes capture, input, clock, exporter,
                   and `live` (upload while recording: a LiveSink per session, or None)
    bundler.py     the live bundle: a thread appends complete MP4 boxes, screenshots and JSON-lines chunks
                   to the format-2 zip while recording (traycap/bundle/livezip.py); finishes it at Stop
    guard.py       WorkerGuard: a worker thread's failure stops the recording instead of killing the thread
    recover.py     recover_unfinished(ctx): export sessions a crash left mid-recording (call at start-up);
                   a live bundle is resumed from its journal and finished (report.live)
    hotkey.py      HotkeyListener (global start/stop hotkey)
    screen.py      mss capture + PyAV H.264 encoder (the only mss/cv2/av importer)
    inputs.py      pynput listeners (the only pynput importer)
    actions.py     input events -> action records, privacy, throttling (pure)
    timing.py      frame grid and drop accounting (pure)
    session.py     files of a session being recorded (crash-safe appends)
    export.py      session dir -> zip bundle + meta + .exported (never queues: traycap/auto_upload.py decides)
    null.py        null screen/input backends for tests

Bundle format and time base: docs/bundle-format.md.
"""
