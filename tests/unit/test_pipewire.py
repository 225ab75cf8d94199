"""The pure parts of the PipeWire adapter (traycap/media/capture/pipewire.py): pixels out of a buffer, the pipeline.

The pipeline itself runs against a real PipeWire in tests/integration/test_wayland_capture.py.
"""

from __future__ import annotations

import numpy as np

from traycap.media.capture.pipewire import bgrx_image, pipeline_description


def test_rows_with_padding_become_an_image_without_it() -> None:
    width, height, stride = 5, 3, 24  # 5 pixels = 20 bytes, padded to 24
    rows = np.zeros((height, stride), dtype=np.uint8)
    for y in range(height):
        rows[y, : width * 4] = np.arange(width * 4, dtype=np.uint8) + y
        rows[y, width * 4:] = 255  # padding: must not show
    image = bgrx_image(rows.tobytes(), width, height)
    assert image.shape == (2, 4, 4)  # cropped to even sizes, as H.264 in yuv420p needs
    assert int(image[1, 0, 0]) == 1 and int(image[0, 3, 3]) == 15
    assert 255 not in image


def test_a_short_buffer_is_no_image() -> None:
    assert bgrx_image(b"\0" * 10, 4, 4) is None
    assert bgrx_image(b"", 0, 0) is None


def test_the_pipeline_reads_the_node_over_the_portal_fd_and_asks_for_bgrx() -> None:
    text = pipeline_description(17, 42, 10)
    assert text.startswith("pipewiresrc name=src fd=17 path=42 ")
    assert "video/x-raw,format=BGRx,max-framerate=(fraction)[0/1,10/1]" in text
    assert "appsink name=sink emit-signals=true max-buffers=1 drop=true" in text
    assert "max-framerate" not in pipeline_description(17, 42, None)
