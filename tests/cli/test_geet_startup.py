"""``geet``'s start: Hydra's composition, with nothing cached on disk. A pickle planted where the
old composition cache lived (``$GEETILES_CACHE_DIR``, ``$XDG_CACHE_HOME/geetiles``,
``~/.cache/geetiles``) is never loaded, and nothing is written there."""

from __future__ import annotations

import os
import pickle

import pytest

from geetiles.cli import composition_memo, geet
from geetiles.cli.compose import compose, quote

AWKWARD = [
    "/data/my aoi, v2/it's=here.wkt",
    "a b",
    "x,y",
    "k=v",
    "[not, a, list]",
    "'quoted'",
    "\\",
    "é ü",
    "",
]


@pytest.mark.parametrize("value", AWKWARD, ids=range(len(AWKWARD)))
def test_quoted_values_come_back_verbatim(value):
    cfg = compose(["aoi=wkt", f"aoi.wkt_file={quote(value)}", f"data_dir={quote(value)}"])
    assert cfg.aoi.wkt_file == value and cfg.data_dir == value


class _Payload:
    """Unpickled, it creates ``marker`` (what a planted pickle would do as the user running geet)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _kept(made: set[bytes], data: bytes) -> bytes:
    made.add(bytes(data))
    return data


def test_geet_grid_loads_no_pickle_and_writes_no_cache(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    places = [tmp_path / "explicit", tmp_path / "xdg" / "geetiles", tmp_path / "home" / ".cache" / "geetiles"]
    for place in places:
        place.mkdir(parents=True)
        for name in ("compose-0123456789abcdef0123456789abcdef.pickle", "anything.pickle"):
            (place / name).write_bytes(pickle.dumps(_Payload(str(marker))))
    monkeypatch.setenv("GEETILES_CACHE_DIR", str(places[0]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # the composition memo keeps its trees pickled in memory: bytes made in this test are no cache
    composition_memo.forget()  # trees kept by an earlier test were made before the spy
    made, loaded = set(), []
    real_load, real_loads, real_dumps = pickle.load, pickle.loads, pickle.dumps
    monkeypatch.setattr(pickle, "dumps", lambda *a, **k: _kept(made, real_dumps(*a, **k)))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: loaded.append(a) or real_load(*a, **k))

    def loads(data, *args, **kwargs):
        if bytes(data) not in made:
            loaded.append(data)
        return real_loads(data, *args, **kwargs)

    monkeypatch.setattr(pickle, "loads", loads)
    wkt = tmp_path / "small.wkt"
    wkt.write_text("POLYGON ((6.0 49.6, 6.05 49.6, 6.05 49.65, 6.0 49.65, 6.0 49.6))")
    before = {place: sorted(os.listdir(place)) for place in places}
    for size in (1000, 2000):  # a second start would have read what the first one cached
        geet.main(
            [
                "grid",
                "--aoi_wkt_file",
                str(wkt),
                "--chip_size_meters",
                str(size),
                "--aoi_name",
                "small",
                "--dest_dir",
                str(tmp_path / f"out{size}"),
            ]
        )
        assert list((tmp_path / f"out{size}").glob("small_partitions_aschips_*.geojson"))
    assert not marker.exists() and not loaded
    assert {place: sorted(os.listdir(place)) for place in places} == before
