"""`traycap view ID`: a session's replay page, served from its zip on 127.0.0.1.

    bundle.py    the zip: JSON members parsed, video/screenshots as byte slices (no unpacking)
    model.py     pure: bundle + upload facts -> the page's data (marks, pointer, captions, facts)
    ranges.py    pure: HTTP Range header -> byte span
    lifetime.py  pure: when the server stops (tab closed, idle), on an injected clock
    server.py    the HTTP adapter (stdlib http.server, 127.0.0.1 only, token in the URL)
    opener.py    the browser adapter (stdlib webbrowser)
    page/        the page itself: HTML, CSS and JS shipped with the package, nothing remote
"""
