"""traycap/viewer/single_page.py: the replay page as one self-contained HTML document."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from traycap.bundle import layout
from traycap.viewer.single_page import build, local_html


def _between(html: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S)
    assert match is not None, tag
    return match.group(1)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_one_document_whose_policy_allows_its_own_script_and_style_and_nothing_from_elsewhere() -> None:
    page = build()
    html = page.html.decode("utf-8")
    script, style = _between(html, "script"), _between(html, "style")
    assert html.count("<script") == 1 and "src=" not in html.split("<script", 1)[1].split(">", 1)[0]
    assert "<link rel=\"stylesheet\"" not in html
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert meta is not None and meta.group(1) == page.csp
    rules = dict(rule.strip().split(" ", 1) for rule in page.csp.split(";"))
    assert rules["default-src"] == "'none'"
    assert rules["script-src"] == _hash(script) and rules["style-src"] == _hash(style)
    for directive in ("connect-src", "img-src", "media-src"):
        assert set(rules[directive].split()) <= {"'self'", "blob:", "data:"}, directive
    assert "http" not in html.replace("http-equiv", "")  # nothing remote, not even a link in a comment
    assert page.sha256 == hashlib.sha256(page.html).hexdigest() and page.version.endswith(page.sha256[:12])


def test_the_bundles_member_names_come_from_layout_py() -> None:
    script = _between(build().html.decode("utf-8"), "script")
    constants = json.loads(re.search(r"const LAYOUT = (\{.*?\});", script).group(1))  # type: ignore[union-attr]
    assert constants["VIDEO_SEGMENTS"] == layout.VIDEO_SEGMENTS and constants["FORMAT_LIVE"] == layout.FORMAT_LIVE
    assert constants["ACTIONS_JSON"] == layout.ACTIONS_JSON


def test_traycap_view_serves_the_same_page_marked_as_its_own() -> None:
    html = build().html
    local = local_html()
    assert local.replace(b'<body data-host="local">', b"<body>", 1) == html and local != html
