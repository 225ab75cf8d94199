"""The live upload lane: a recording's bundle uploaded while it is recorded (issue: instant share).

(Interface fixed; implementation in progress.)

One LiveUpload per recording, in the recording process, beside the serial queue (not in it).
It implements the recorder's LiveSink protocol (traycap/recorder/api.py) structurally:

    lane = LiveUpload(ctx, session_id, zip_path, engine=..., clock=..., limiter=..., on_progress=...)
    lane.committed(size)          # bundler: bytes [0, size) of the zip are final -> whole parts go
    lane.finished(size, sha256)   # bundler at Stop: the zip is complete -> last part, Complete,
                                  # verify, stamp x-amz-meta-sha256 (self-copy), state done
    lane.abandon()                # recording ended without a finished zip: keep state for resume
    lane.cancel()                 # user: abort the multipart upload, recording goes on
    lane.wait(timeout)            # until done / failed / handed over (`traycap record`, tests)
    lane.handover()               # process exits: state `pending` with the resume point (the queue
                                  # completes the same multipart upload), or stays `live` if the
                                  # zip is not finished (recovery finishes it first)
"""
