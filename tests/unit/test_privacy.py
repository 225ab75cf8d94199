"""Excluded apps, the pure part: pattern matching, focus spans, and what PrivateActions keeps and writes."""

from __future__ import annotations

import pytest

from traycap.clock import FakeClock
from traycap.models import AppSettings, KeystrokePrivacy
from traycap.recorder.actions import ActionBuilder, RawClick, RawKey, RawMove, RawScroll
from traycap.recorder.privacy import REFRESH_S, ExclusionRules, FocusGuard, PrivateActions, WindowInfo

KEEPASS = WindowInfo(classes=("keepassxc", "KeePassXC"), title="Passwords.kdbx - KeePassXC")
BROWSER = WindowInfo(classes=("Navigator", "firefox"), title="Mozilla Firefox Private Browsing")
EDITOR = WindowInfo(classes=("gedit", "Gedit"), title="notes.txt")


@pytest.mark.parametrize("pattern,window,expected", [
    ("KeePassXC", KEEPASS, True),  # the class, any case
    ("keepassxc", KEEPASS, True),
    ("KeePass", KEEPASS, False),  # no wildcard: the whole name
    ("*Private Browsing*", BROWSER, True),  # the title
    ("*private browsing*", BROWSER, True),
    ("*Private Browsing*", EDITOR, False),
    ("1Password", WindowInfo(app="1Password"), True),  # macOS: the app name
    ("com.agilebits.*", WindowInfo(classes=("com.agilebits.onepassword7",)), True),  # macOS: the bundle id
])
def test_patterns_match_class_app_or_title(pattern: str, window: WindowInfo, expected: bool) -> None:
    assert ExclusionRules([pattern]).matches(window) is expected


def test_blank_patterns_exclude_nothing_and_no_window_is_never_excluded() -> None:
    assert not ExclusionRules(["", "  "])
    assert ExclusionRules(["*"]).matches(None) is False


class Focus:
    """A scripted focused window, counting the questions asked."""

    def __init__(self, window: WindowInfo | None = EDITOR) -> None:
        self.window = window
        self.asked = 0

    def __call__(self) -> WindowInfo | None:
        self.asked += 1
        return self.window


def make(focus: Focus, clock: FakeClock, privacy: KeystrokePrivacy = KeystrokePrivacy.FULL) -> PrivateActions:
    origin = clock.monotonic()
    guard = FocusGuard(ExclusionRules(["KeePassXC"]), focus, clock.monotonic)
    return PrivateActions(ActionBuilder(origin, privacy), origin, guard)


def key(t: float, char: str) -> list[RawKey]:
    return [RawKey(t=t, pressed=True, char=char, name=None), RawKey(t=t, pressed=False, char=char, name=None)]


def feed_all(actions: PrivateActions, events: list[object]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for ev in events:
        out += actions.feed(ev)  # type: ignore[arg-type]
    return out


def test_keys_in_an_excluded_window_become_one_marker_and_clicks_lose_their_coordinates() -> None:
    clock, focus = FakeClock(), Focus()
    actions = make(focus, clock)
    t0 = clock.monotonic()
    out = feed_all(actions, key(t0 + 0.1, "a"))
    clock.advance(1.0)
    focus.window = KEEPASS
    out += feed_all(actions, [RawMove(t=t0 + 1.0, x=5, y=6), *key(t0 + 1.1, "p"),
                              RawClick(t=t0 + 1.2, x=40, y=50, button="left", pressed=True),
                              RawClick(t=t0 + 1.2, x=40, y=50, button="left", pressed=False),
                              RawScroll(t=t0 + 1.3, x=40, y=50, dx=0, dy=-1), *key(t0 + 1.4, "w")])
    clock.advance(1.0)
    focus.window = EDITOR
    out += actions.flush_due(clock.monotonic())  # the capture thread notices the focus left
    out += feed_all(actions, key(t0 + 2.1, "b"))
    assert [a for a in out if a["type"] in ("key_down", "key_up")] == [
        {"t": 100.0, "type": "key_down", "key": "a"}, {"t": 100.0, "type": "key_up", "key": "a"},
        {"t": 2100.0, "type": "key_down", "key": "b"}, {"t": 2100.0, "type": "key_up", "key": "b"},
    ]
    assert not [a for a in out if a["type"] == "mouse_move"]
    marker = next(a for a in out if a["type"] == "excluded")
    assert marker == {"t": 1000.0, "type": "excluded", "endT": 2000.0}
    after = out[out.index(marker) + 1:]
    assert after[:3] == [
        {"t": 1200.0, "type": "mouse_down", "button": "left", "excluded": True},
        {"t": 1200.0, "type": "mouse_up", "button": "left", "excluded": True},
        {"t": 1300.0, "type": "scroll", "dx": 0, "dy": -1, "excluded": True},
    ]
    times = [a["t"] for a in out]
    assert times == sorted(times)  # actions.jsonl stays in time order


def test_a_key_typed_the_moment_the_focus_changes_is_never_recorded() -> None:
    """Keys ask the focus afresh: a cached answer from a moment ago must not let one through."""
    clock, focus = FakeClock(), Focus()
    actions = make(focus, clock)
    t0 = clock.monotonic()
    feed_all(actions, [RawMove(t=t0, x=1, y=1)])
    focus.window = KEEPASS  # no time passes: a cache would still say "editor"
    out = feed_all(actions, key(t0, "s"))
    assert not [a for a in out if a["type"].startswith("key")]


def test_mouse_moves_reuse_a_recent_answer() -> None:
    clock, focus = FakeClock(), Focus()
    actions = make(focus, clock)
    t0 = clock.monotonic()
    for i in range(50):
        actions.feed(RawMove(t=t0 + i * 0.001, x=i, y=i))
    assert focus.asked == 1
    clock.advance(REFRESH_S)
    actions.feed(RawMove(t=t0 + 0.3, x=1, y=1))
    assert focus.asked == 2


def test_pause_and_stop_end_an_open_span() -> None:
    clock, focus = FakeClock(), Focus(KEEPASS)
    actions = make(focus, clock)
    t0 = clock.monotonic()
    feed_all(actions, key(t0, "x"))
    clock.advance(0.5)
    paused = actions.marker("pause", clock.monotonic())
    assert paused == [{"t": 0.0, "type": "excluded", "endT": 500.0}, {"t": 500.0, "type": "pause"}]
    clock.advance(1.0)
    resumed = actions.marker("resume", clock.monotonic())
    assert resumed == [{"t": 1500.0, "type": "resume"}]
    feed_all(actions, key(clock.monotonic(), "y"))  # still excluded: a new span
    clock.advance(0.5)
    assert actions.flush() == [{"t": 1500.0, "type": "excluded", "endT": 2000.0}]


def test_the_screen_is_private_exactly_while_an_excluded_window_has_focus() -> None:
    clock, focus = FakeClock(), Focus()
    actions = make(focus, clock)
    assert actions.screen_private() is False
    focus.window = KEEPASS
    assert actions.screen_private() is True  # asked afresh for every frame
    focus.window = None  # nothing focused (a window closed): not excluded
    assert actions.screen_private() is False


def test_a_failing_focus_backend_keeps_the_last_answer() -> None:
    clock, focus = FakeClock(), Focus(KEEPASS)
    actions = make(focus, clock)
    assert actions.screen_private() is True

    def broken() -> WindowInfo | None:
        raise RuntimeError("X connection hiccup")

    actions._guard._active_window = broken  # type: ignore[union-attr]
    assert actions.screen_private() is True


def test_without_patterns_no_focus_backend_is_opened() -> None:
    opened: list[int] = []
    clock = FakeClock()

    class Source:
        def active_window(self) -> WindowInfo | None:
            return KEEPASS

        def close(self) -> None:
            opened.append(-1)

    def open_focus() -> Source:
        opened.append(1)
        return Source()

    inner = ActionBuilder(clock.monotonic(), KeystrokePrivacy.FULL)
    plain = PrivateActions.for_patterns(inner, clock.monotonic(), (), open_focus, clock.monotonic)
    assert opened == [] and plain.screen_private() is False
    assert plain.feed(RawKey(t=clock.monotonic(), pressed=True, char="k", name=None))[0]["key"] == "k"
    guarded = PrivateActions.for_patterns(inner, clock.monotonic(), ("keepassxc",), open_focus, clock.monotonic)
    assert guarded.screen_private() is True
    guarded.close()
    guarded.close()
    assert opened == [1, -1]


def test_excluded_apps_round_trip_in_app_settings() -> None:
    settings = AppSettings(excludedApps=("KeePassXC", "*Private Browsing*"))
    assert AppSettings.from_json(settings.to_json()) == settings
    assert AppSettings.from_json({}).excludedApps == ()
    with pytest.raises(ValueError, match="excludedApps"):
        AppSettings.from_json({"excludedApps": [1]})
