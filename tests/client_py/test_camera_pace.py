"""The camera's pace: the site's rate while faces are seen, slow after 10 s without one."""

from rapport.client_py.camera_pace import CameraPace

T = 1_700_000_000_000.0


def test_a_face_in_view_keeps_the_site_rate() -> None:
    pace = CameraPace()
    assert [pace.update(T + i * 200, face=True) for i in range(100)] == [None] * 100
    assert pace.pace == "active"


def test_ten_seconds_without_a_face_slow_down_once() -> None:
    pace = CameraPace()
    pace.update(T, face=True)
    changes = [pace.update(T + i * 200, face=False) for i in range(1, 80)]
    assert changes.count("idle") == 1 and set(changes) == {None, "idle"}
    assert changes.index("idle") == 49  # the frame at T + 10 s
    assert pace.pace == "idle"


def test_a_camera_that_never_sees_a_face_goes_idle_after_ten_seconds_of_frames() -> None:
    pace = CameraPace()
    assert pace.update(T, face=False) is None
    assert pace.update(T + 9_999, face=False) is None
    assert pace.update(T + 10_000, face=False) == "idle"


def test_a_face_back_restores_the_site_rate_at_once() -> None:
    pace = CameraPace()
    pace.update(T, face=False)
    pace.update(T + 10_000, face=False)
    assert pace.update(T + 11_000, face=True) == "active"
    assert pace.update(T + 12_000, face=False) is None  # the 10 s count starts again
    assert pace.update(T + 21_000, face=False) == "idle"


def test_brief_gaps_do_not_slow_down() -> None:
    pace = CameraPace()
    for i in range(100):  # a face in one frame of three: blinks, turns, a hand in front
        assert pace.update(T + i * 200, face=i % 3 == 0) is None
