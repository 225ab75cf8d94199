"""media/pcm.py: mono blocks, the fractional-rate resampler, loudness."""

from __future__ import annotations

import numpy as np
import pytest

from traycap.media import pcm


def test_blocks_become_mono_float32() -> None:
    stereo = np.array([[0.5, -0.5], [1.0, 0.0]], dtype=np.float64)
    assert pcm.to_mono(stereo).tolist() == [0.0, 0.5]
    assert pcm.to_mono(np.array([[0.25], [0.75]])).dtype == np.float32
    assert pcm.mix([np.full(3, 0.8, np.float32), np.full(3, 0.8, np.float32)]).tolist() == [1.0, 1.0, 1.0]


def test_the_resampler_keeps_a_sine_and_counts_its_position() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    rs = pcm.Resampler()
    out = []
    for start in range(0, rate, 480):  # 10-ms blocks, taken 0.5 % faster than they come
        rs.push(tone[start:start + 480])
        out.append(rs.pull(1.005))
    got = np.concatenate(out)
    assert len(got) == pytest.approx(rate / 1.005, abs=2)
    assert rs.position == pytest.approx(len(got) * 1.005, abs=1e-6)
    expected = np.sin(2 * np.pi * 440 * np.arange(len(got)) * 1.005 / rate)
    assert np.max(np.abs(got - expected)) < 0.01  # linear interpolation of a 440 Hz tone at 48 kHz
    assert rs.skip(1e9) == pytest.approx(rs.buffered + 0.0, abs=1e9)  # never past what is buffered
    assert rs.buffered == 0


def test_levels_are_whole_dbfs_with_a_floor() -> None:
    loud = np.full(4800, 0.5, np.float32)
    quiet = np.zeros(4800, np.float32)
    assert pcm.levels_db(np.concatenate([loud, quiet, loud[:100]]), 4800) == [-6, pcm.LEVEL_FLOOR_DB, -6]


def test_tone_bursts_sound_only_inside_their_span() -> None:
    out = pcm.tone_bursts(0.0, 1 / 1000, 1000, [(0.2, 0.1, 50.0, 0.5)])
    loud = np.flatnonzero(np.abs(out) > 0)
    assert loud[0] >= 200 and loud[-1] <= 300  # 0.3 s itself may round either way
