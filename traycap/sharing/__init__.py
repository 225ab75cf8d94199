"""Sharing (composition layer): which recordings are uploaded, and how. Used by the tray, `traycap
record` and `traycap worker` alike; the recorder and the upload package never know each other.

    policy.py      the rules, in one place: a live lane at Start (autoUpload + uploadWhileRecording),
                   the queue at export (autoUpload), and the notes the user reads
    requests.py    UploadRequests: upload / retry / cancel, to this process's queue or on disk
    lanes.py       the live lanes of one process and the one rate cap they share with its queue
    recordings.py  Sharing: the rules applied to this process's recordings, from Start to export
    startup.py     settle_at_start: recover -> settle the live sessions a crash left -> auto-upload

The decision for a recording is made once and carried as a value: the lane made at Start (or
none), the RecoveryReport after a crash; no state file is read back to learn what was decided.
"""
