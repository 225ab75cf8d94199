"""traycap/cli.py in-process: the version, and argument errors that say what the argument may be."""

from __future__ import annotations

import pytest

from tests.support.sessions import make_session_dir
from traycap import __version__, cli
from traycap.context import Context
from traycap.models import UploadStatus

T0 = 1_700_000_000_000


def test_version_prints_the_one_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"traycap {__version__}"
    assert __version__ == "0.3.0"


@pytest.mark.parametrize(("value", "said"), [
    ("9999999", "a share link can last 1 to 604800 seconds (7 days, S3's limit), not 9999999"),
    ("0", "must be greater than 0"),
    ("soon", "'soon' is not a whole number"),
])
def test_a_bad_link_expiry_is_an_argument_error_with_its_own_words(
        home: object, capsys: pytest.CaptureFixture[str], value: str, said: str) -> None:
    """Issue 18: `link ID --expires 9999999` said "... (check Upload settings, then Retry)", an upload's hint."""
    with pytest.raises(SystemExit) as done:
        cli.main(["link", "s1", "--expires", value])
    err = capsys.readouterr().err
    assert done.value.code == 2 and f"argument --expires: {said}" in err and "Upload settings" not in err


@pytest.mark.parametrize(("status", "sentence"), [
    (UploadStatus.DONE, "s1 is already uploaded, so there is nothing to cancel (`traycap link s1` prints its link)"),
    (UploadStatus.FAILED, "s1's upload failed, so there is nothing to cancel (`traycap retry s1` tries again)"),
    (UploadStatus.NOT_UPLOADED, "s1 is not queued, so there is nothing to cancel"),
    (None, "s1 is not queued, so there is nothing to cancel"),
])
def test_cancel_of_a_session_without_an_upload_says_so_once(ctx: Context, capsys: pytest.CaptureFixture[str],
                                                            status: UploadStatus | None, sentence: str) -> None:
    """Issue 18: it said "is already uploaded (... done to not_uploaded) (it is already uploaded; ...)"."""
    make_session_dir(ctx.paths, "s1", created_ms=T0, exported=True, state=status)
    assert cli.main(["cancel", "s1"]) == 1
    err = capsys.readouterr().err  # (on Windows a line about the data dir's ACL may come first)
    assert err.splitlines()[-1] == f"traycap: {sentence}" and err.count("nothing to cancel") == 1
