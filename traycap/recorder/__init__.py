"""The recorder: a recording's lifecycle, screen video, screenshots and input actions on one clock.

    api.py         RecorderState, RecorderEvent(Kind), the Recorder and LiveSink protocols (plain types)
    controller.py  RecordingController: start / pause / resume / stop / toggle; takes capture, input, clock,
                   exporter, and `live` (a LiveSink per session from the composition, or None)
    recording.py   one recording's shared state, and opening it (session dir, meta, encoder, action builder)
    loops.py       one small object per worker loop: capture, encoder, screenshots, disk guard, input feed
    live.py        the live bundle while it records (bundle/bundler.py) and its sink; finished at Stop
    stopping.py    what Stop writes in the meta before the export
    recover.py     recover_unfinished(ctx): export sessions a crash left mid-recording (start-up);
                   a live bundle is resumed from its journal and finished (report.live)
    guard.py       WorkerGuard: a worker thread's failure stops the recording instead of killing the thread
    session.py     the files of a session being recorded (crash-safe appends); their names: bundle/raw.py
    actions.py     input events -> action records, privacy, throttling (pure)
    privacy.py     excluded apps (pure); focus/ which window has focus, one module per OS
    timing.py      frame grid and drop accounting (pure)
    inputs.py      pynput listeners and the global hotkey (the only pynput importer); hotkey.py its facade
    x11.py         python-xlib, loaded for RECORD and the focused window
    null.py        a scripted input source for tests (the null screen is media/capture/null.py)

The recorder never decides about uploads: traycap/sharing/ does. Screen capture and video are
media/'s; the bundle writers are bundle/'s. Bundle format and time base: docs/bundle-format.md.
"""
