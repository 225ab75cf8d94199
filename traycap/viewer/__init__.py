"""The replay page, and `traycap view ID`: the page served with the session's zip on 127.0.0.1.

    page/           the page: HTML, CSS and JS shipped with the package; it reads the zip by byte
                    ranges (the same code plays a share link from the bucket: traycap/player/)
    single_page.py  the page as one HTML document (script and style inline), its CSP and version
    server.py       the HTTP adapter (stdlib http.server, 127.0.0.1 only, token in the URL)
    ranges.py       pure: HTTP Range header -> byte span
    lifetime.py     pure: when the server stops (tab closed, idle), on an injected clock
    opener.py       the browser adapter (stdlib webbrowser)
    bundle.py       the zip's members as byte slices, a segmented video as one file (`--sheet`)
"""
