"""media/regions.py: where a frame changed, as rectangles the encoder can convert one by one."""

from __future__ import annotations

from traycap.media import regions


def test_rectangles_are_moved_into_the_frame_and_cut_to_it() -> None:
    # A monitor at (1920, 0): the screen's rectangles are moved by its origin, what lies outside is dropped.
    found = regions.clip([(1900, 10, 40, 20), (100, 5, 10, 10), (3000, 1070, 50, 50)], 1920, 1080, dx=1920)
    assert found == ((0, 10, 20, 20), (1080, 1070, 50, 10))


def test_none_means_the_whole_frame_and_absorbs_everything() -> None:
    assert regions.union(None, ((1, 1, 2, 2),)) is None and regions.union(((1, 1, 2, 2),), None) is None
    assert regions.union((), ((1, 1, 2, 2),)) == ((1, 1, 2, 2),)
    assert regions.simplify(None, 64, 48) is None
    assert regions.simplify((), 64, 48) == ()
    assert regions.simplify(((100, 100, 5, 5),), 64, 48) == ()  # nothing of it is in the frame


def test_many_or_large_changes_become_their_bounding_box_or_the_whole_frame() -> None:
    many = tuple((x * 4, 0, 2, 2) for x in range(regions.MAX_RECTS + 1))
    assert regions.simplify(many, 640, 480) == ((0, 0, regions.MAX_RECTS * 4 + 2, 2),)
    assert regions.simplify(((0, 0, 640, 200),), 640, 480) == ((0, 0, 640, 200),)
    assert regions.simplify(((0, 0, 640, 250),), 640, 480) is None  # more than half: one whole conversion


def test_a_rectangle_grows_to_whole_chroma_blocks_and_to_sides_of_a_few_sizes() -> None:
    step = regions.SIDE_STEP
    assert regions.even((3, 5, 1, 1), 64, 48) == (2, 4, step, step)
    assert regions.even((10, 10, 7, step + 1), 640, 480) == (10, 10, step, 2 * step)
    assert regions.even((63, 47, 1, 1), 64, 48) == (64 - step, 48 - step, step, step)  # at the far corner: inwards
    assert regions.even((0, 0, 1, 1), 2, 2) == (0, 0, 2, 2)  # a frame smaller than that: the frame
    assert regions.even((0, 0, 600, 1), 600, 480) == (0, 0, 600, step)
