"""media/encoders.py (which H.264 encoder records) and media/video.py's probe: hardware where it works,
libx264 otherwise, never required. This project's test machine has no GPU: hardware encoders are
chosen here through a scripted probe; the real probe is run on libx264 and on names the build lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from traycap.media import encoders
from traycap.media.encoders import Encoder, choose
from traycap.media.video import open_encoder, probe

LINUX_ALL = {"libx264", "h264_vaapi", "h264_nvenc", "h264_qsv", "h264_amf"}


def _probe(verdicts: dict[str, str | None]):  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def run(encoder: Encoder) -> str | None:
        asked.append(encoder.codec)
        return verdicts.get(encoder.codec, "no device")

    return run, asked


def test_x264_is_never_a_probe_away() -> None:
    run, asked = _probe({})
    choice = choose("x264", "linux", LINUX_ALL, run, threads=8)
    assert choice.encoder.codec == "libx264" and not choice.encoder.hardware and asked == []
    assert choice.encoder.options == {"preset": "superfast", "tune": "zerolatency", "crf": "23", "threads": "4"}
    assert choice.describe() == {"encoder": "libx264", "hardware": False, "encoderSetting": "x264"}


@pytest.mark.parametrize("setting", ["auto", "hardware"])
def test_the_first_hardware_encoder_whose_probe_works_is_chosen(setting: str) -> None:
    run, asked = _probe({"h264_qsv": None})
    choice = choose(setting, "linux", LINUX_ALL - {"h264_vaapi"}, run, threads=2)
    assert choice.encoder.codec == "h264_qsv" and choice.encoder.hardware and choice.encoder.pix_fmt == "nv12"
    assert asked == ["h264_nvenc", "h264_qsv"]  # in order, stopping at the first that works
    assert choice.tried == {"h264_vaapi": "not in this PyAV build", "h264_nvenc": "no device"}
    assert choice.describe()["encodersTried"] == choice.tried


def test_without_a_working_hardware_encoder_libx264_records_and_the_meta_says_why() -> None:
    run, asked = _probe({})
    choice = choose("hardware", "linux", {"libx264", "h264_nvenc"}, run, threads=2)
    assert choice.encoder.codec == "libx264" and asked == ["h264_nvenc"]
    assert choice.tried["h264_nvenc"] == "no device" and choice.tried["h264_qsv"] == "not in this PyAV build"


@pytest.mark.parametrize(("platform", "first"), [("win32", "h264_mf"), ("darwin", "h264_videotoolbox"),
                                                 ("linux", "h264_vaapi")])
def test_each_platform_tries_its_own_hardware_encoders(platform: str, first: str) -> None:
    run, asked = _probe({})
    available = {e.codec for e in encoders.HARDWARE[encoders.platform_key(platform)]}
    choose("auto", platform, available, run, threads=2)
    assert asked[0] == first
    # Every candidate keeps the recorder's promises: no B-frames, a quality setting.
    for candidate in encoders.HARDWARE[encoders.platform_key(platform)]:
        assert candidate.options.get("bf", "0") == "0" and candidate.pix_fmt in ("yuv420p", "nv12")


def test_an_unknown_setting_records_with_libx264_and_says_so() -> None:
    run, _asked = _probe({})
    choice = choose("gpu", "linux", LINUX_ALL, run, threads=2)
    assert choice.encoder.codec == "libx264" and "gpu" in choice.tried["setting"]


def test_the_real_probe_works_for_libx264_and_names_what_the_build_lacks(tmp_path: Path) -> None:
    assert probe(encoders.x264(2), 64, 48) is None
    missing = Encoder("h264_not_an_encoder", "yuv420p", {}, hardware=True)
    assert probe(missing, 64, 48)  # a reason, not an exception
    encoder, choice = open_encoder(tmp_path / "v.mp4", 64, 48, 10, "x264")
    assert encoder.encoder.codec == "libx264" and choice.requested == "x264"
    encoder.abandon()
    # Whatever this machine has, "auto" gives an encoder that works (here: libx264, no GPU).
    encoder, choice = open_encoder(tmp_path / "w.mp4", 64, 48, 10, "auto")
    assert choice.encoder.codec == "libx264" or choice.encoder.hardware
    encoder.abandon()
