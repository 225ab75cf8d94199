"""The tray app (composition layer): start-up, the UI loop and shutdown, wired from its parts.

    main.py       `traycap` / `traycap tray`: instance lock, real parts, signals, run
    app.py        TrayApp: start-up, the UI thread, settings and hotkey, the queue lock, quit
    parts.py      what the app needs from its parts (protocols, `Parts`) and the real wiring
    view.py       TrayModel: what the menu shows, under one lock
    actions.py    ActionDispatcher: what a click or the hotkey does, on worker lanes
    events.py     EventRouter: queue progress and recorder events -> model, notifications, Sharing
    retention.py  RetentionHook: the retention rules as the tray runs them

What is uploaded, and how, is traycap/sharing/'s; the tray only shows it.
"""
