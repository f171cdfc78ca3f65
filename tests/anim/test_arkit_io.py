"""ARKit weights in and out: our JSON schema and the Live Link Face CSV layout."""

from __future__ import annotations

import json

import numpy as np
import pytest

from head360.anim import arkit_io
from head360.anim.arkit_io import (
    LIVE_LINK_HEADER,
    WeightTrack,
    format_timecode,
    parse_timecode,
    read_csv,
    read_json,
    read_track,
    write_csv,
    write_json,
)
from head360.arkit import ARKIT_NAMES, index_of
from head360.errors import Head360Error


def _track(n=12, fps=30.0, seed=0, head=True):
    rng = np.random.default_rng(seed)
    rot = rng.normal(size=(n, 3)) * 15 if head else None
    return WeightTrack.from_frames(rng.random((n, 52)), fps=fps, head_rotation=rot)


def _csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def test_json_round_trip(tmp_path):
    tr = _track()
    write_json(tr, tmp_path / "w.json")
    back, report = read_json(tmp_path / "w.json")
    assert report.clean, report.lines()
    np.testing.assert_allclose(back.weights, tr.weights, atol=1e-6)
    np.testing.assert_allclose(back.times, tr.times, atol=1e-6)
    np.testing.assert_allclose(back.head_rotation, tr.head_rotation, atol=1e-3)
    assert back.fps == tr.fps
    frame = json.loads((tmp_path / "w.json").read_text())["frames"][3]
    assert set(frame["weights"]) == set(ARKIT_NAMES)  # 52 named weights per frame


def test_csv_round_trip_uses_the_live_link_layout(tmp_path):
    tr = _track(n=20, fps=60.0)
    write_csv(tr, tmp_path / "w.csv")
    lines = (tmp_path / "w.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["Timecode", "BlendShapeCount"] and len(header) == 2 + 61
    assert header[16:19] == ["JawForward", "JawRight", "JawLeft"]  # the app's order, not ARKit's
    assert header[23:25] == ["MouthRight", "MouthLeft"]
    assert header[-9:] == list(arkit_io.HEAD_COLUMNS + arkit_io.EYE_COLUMNS)
    assert lines[1].split(",")[1] == "61"
    assert lines[2].split(",")[0] == "00:00:00:01.000"  # frame 1 at 60 fps
    back, report = read_csv(tmp_path / "w.csv")
    assert report.clean, report.lines()
    np.testing.assert_allclose(back.weights, tr.weights, atol=1e-6)
    np.testing.assert_allclose(back.times, tr.times, atol=1e-6)
    np.testing.assert_allclose(back.head_rotation, tr.head_rotation, atol=1e-3)
    assert back.fps == 60.0
    # the jawRight column holds jawRight, not the ARKit-order neighbour
    assert back.weight("jawRight")[5] == pytest.approx(tr.weights[5, index_of("jawRight")], abs=1e-6)


def test_csv_columns_are_mapped_by_name_in_any_order(tmp_path):
    rng = np.random.default_rng(1)
    names = list(arkit_io.LIVE_LINK_ORDER)
    order = rng.permutation(len(names))
    shuffled = [names[i].lower() if k % 3 == 0 else names[i] for k, i in enumerate(order)]  # any case
    header = ["Timecode", "BlendShapeCount"] + shuffled
    truth = rng.random((4, 52))
    rows = []
    for f in range(4):
        vals = [truth[f, index_of(n)] for n in shuffled]
        rows.append([f"10:00:00:{2 * f:02d}.000", 52] + [f"{v:.6f}" for v in vals])
    track, report = read_csv(_csv(tmp_path / "s.csv", header, rows))
    np.testing.assert_allclose(track.weights, truth, atol=2e-6)
    np.testing.assert_allclose(track.times, [0, 2 / 60, 4 / 60, 6 / 60], atol=1e-9)  # relative to row 1
    assert track.head_rotation is None
    assert not report.unknown_columns and not report.missing


def test_csv_extra_missing_out_of_range_and_nan_are_reported(tmp_path):
    names = [n for n in arkit_io.LIVE_LINK_ORDER if n not in ("TongueOut", "CheekPuff")]
    header = ["Timecode", "BlendShapeCount"] + names + ["MyCustomShape", "HeadYaw"]
    rows = []
    for f in range(3):
        vals = ["0.5"] * len(names)
        rows.append([f"00:00:01:{f:02d}.500", 61] + vals + ["7", "0.1"])
    rows[1][2 + names.index("JawOpen")] = "1.7"  # out of range
    rows[2][2 + names.index("EyeBlinkLeft")] = "nan"
    rows[2][2 + names.index("MouthSmileLeft")] = ""  # empty cell
    track, report = read_csv(_csv(tmp_path / "x.csv", header, rows), timecode_fps=30.0)
    assert report.unknown_columns == ["MyCustomShape"]
    assert sorted(report.missing) == ["cheekPuff", "tongueOut"]
    assert report.clamped == {"jawOpen": 1}
    assert report.nans == {"eyeBlinkLeft": 1, "mouthSmileLeft": 1}
    text = report.summary()
    assert "MyCustomShape" in text and "tongueOut" in text and "clamped 1" in text and "NaN" in text
    assert track.weight("jawOpen")[1] == 1.0
    assert track.weight("tongueOut").max() == 0.0
    assert track.weight("eyeBlinkLeft")[2] == 0.5  # held from the previous frame
    np.testing.assert_allclose(track.times, [0, 1 / 30, 2 / 30])  # 30 fps timecodes, .500 sub-frame
    np.testing.assert_allclose(track.head_rotation[:, 0], np.degrees(0.1), rtol=1e-5)
    assert any("HeadPitch" in n for n in report.notes)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("time,jawOpen\n0,0.5\n", "Timecode,BlendShapeCount"),
        ("Timecode,BlendShapeCount,Foo,Bar\n00:00:00:00.000,2,1,2\n", "no blendshape columns"),
        (",".join(LIVE_LINK_HEADER) + "\n", "no frames"),
    ],
)
def test_csv_bad_files_give_one_clear_error(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(Head360Error, match=message):
        read_csv(p)


def test_json_bad_files_give_one_clear_error(tmp_path):
    cases = {
        "empty.json": "",
        "garbage.json": "{not json",
        "noframes.json": json.dumps({"fps": 30}),
        "zero.json": json.dumps({"fps": 30, "frames": []}),
        "format.json": json.dumps({"format": "other", "frames": [{"weights": {}}]}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(Head360Error):
            read_json(tmp_path / name)
    with pytest.raises(Head360Error, match="not found"):
        read_track(tmp_path / "missing.csv")
    with pytest.raises(Head360Error, match=".json or .csv"):
        read_track(tmp_path / "weights.txt")


def test_json_lenient_reading(tmp_path):
    data = {
        "fps": 25,
        "frames": [
            {"weights": {"JAWOPEN": 0.4, "eyeblinkleft": 2.0, "notAShape": 0.3}, "head_rotation": [10, 0, 0]},
            {"weights": {"jawOpen": float("nan")}},
        ],
    }
    (tmp_path / "l.json").write_text(json.dumps(data))
    track, report = read_json(tmp_path / "l.json")
    np.testing.assert_allclose(track.times, [0.0, 0.04])
    assert track.weight("jawOpen").tolist() == pytest.approx([0.4, 0.4])  # NaN held from frame 0
    assert track.weight("eyeBlinkLeft")[0] == 1.0
    assert report.unknown_columns == ["notAShape"]
    assert report.clamped == {"eyeBlinkLeft": 1}
    assert report.nans["jawOpen"] == 1
    assert len(report.missing) == 50


def test_timecodes():
    assert parse_timecode("00:00:01:30.500", 60) == pytest.approx(1.5 + 0.5 / 60)
    assert parse_timecode("01:02:03:04.000", 30) == pytest.approx(3723 + 4 / 30)
    for s in (0.0, 1 / 60, 0.999, 59.5, 3600 + 1 / 3):
        assert parse_timecode(format_timecode(s)) == pytest.approx(s, abs=1e-4)
    with pytest.raises(ValueError):
        parse_timecode("12:00:00")


def test_resample_keeps_the_curve():
    t = np.array([0.0, 0.5, 1.0])
    w = np.zeros((3, 52), np.float32)
    w[:, 17] = [0.0, 1.0, 0.0]
    tr = WeightTrack(t, w, fps=2.0).resampled(10)
    assert len(tr) == 11
    assert tr.weight("jawOpen")[5] == pytest.approx(1.0)
    assert tr.weight("jawOpen")[2] == pytest.approx(0.4)


def test_a_take_longer_than_the_limit_is_refused_while_streaming(tmp_path, monkeypatch):
    monkeypatch.setattr(arkit_io, "MAX_FRAMES", 50)
    rows = [[format_timecode(i / 60.0), 61] + [0.1] * 61 for i in range(10_000)]
    path = _csv(tmp_path / "long.csv", LIVE_LINK_HEADER, rows)
    read_rows = []
    original = arkit_io._check_frame_count
    monkeypatch.setattr(arkit_io, "_check_frame_count", lambda n, where: (read_rows.append(n), original(n, where)))
    with pytest.raises(Head360Error, match="more than 50 frames; split the take"):
        read_csv(path)
    assert max(read_rows) <= 51  # stopped at the limit, not after reading the whole file
    (tmp_path / "long.json").write_text(json.dumps({"fps": 30, "frames": [{"weights": {}}] * 51}))
    with pytest.raises(Head360Error, match="more than 50 frames"):
        read_json(tmp_path / "long.json")


def test_a_json_take_too_large_to_parse_is_refused_from_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(arkit_io, "MAX_JSON_BYTES", 1000)
    (tmp_path / "big.json").write_text(json.dumps({"fps": 30, "frames": [{"weights": {"jawOpen": 0.5}}] * 100}))
    with pytest.raises(Head360Error, match="larger than .* MB; split the take"):
        read_json(tmp_path / "big.json")


def test_a_csv_that_stops_being_text_midway_is_one_error(tmp_path):
    path = _csv(tmp_path / "bin.csv", LIVE_LINK_HEADER, [[format_timecode(0.0), 61] + [0.1] * 61])
    path.write_bytes(path.read_bytes() + b"\xff\xfe\xfa" * 40000)
    with pytest.raises(Head360Error, match="not a text file"):
        read_csv(path)
