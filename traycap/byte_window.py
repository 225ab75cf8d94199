"""ByteWindow: the position half of a read-only, seekable view of `size` bytes.

Shared by the views that hand a slice of a file to a library that reads it
like a file: an upload part to urllib3 (upload/s3/body.py) and a stored zip
member, or a format-2 video's segments end to end, to the viewer's HTTP server
(viewer/bundle.py: MemberSlice, SliceChain). Each supplies the
bytes; the position rules (clamped to [0, size]) are written once here.
"""

from __future__ import annotations

import os


class ByteWindow:
    _pos: int = 0

    def window_size(self) -> int:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        size = self.window_size()
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: size}[whence]
        self._pos = max(0, min(size, base + offset))
        return self._pos
