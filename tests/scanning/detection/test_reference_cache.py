"""The persistent cache of reference tables (scanning/detection/reference/cache.py): a round trip gives the tables
the builders make, a stale, corrupt or foreign file is rebuilt, and a folder others can write is refused."""
import dataclasses
import os
import pickle
import re
import subprocess
import sys
from array import array

import pytest

from scanning.detection import reference
from scanning.detection.reference import cache, people, places
from scanning.detection.reference.places import _Gazetteer, _hash64

TABLES = [places.countries, places.country_codes, places.other_codes, places.subdivisions, places.continents,
          places.cities, places.postal_patterns, places.street_words, people.reference]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    path = tmp_path / "reference"
    monkeypatch.setenv(cache.ENV, str(path))
    return path


class Builder:
    """A table builder that counts its calls, cached under a key made from this test file."""

    def __init__(self, value=None):
        self.calls = 0
        self.value = value if value is not None else {"paris": "FR", "tables": frozenset({"a", "b"})}

    def __call__(self):
        self.calls += 1
        return self.value

    def load(self, sources=(__file__,)):
        return cache.load("demo", self, sources=sources, packages=["pycountry"])


def plain(value):
    """A value that compares by content: gazetteers by their hashes, dataclasses by their fields."""
    if isinstance(value, _Gazetteer):
        return ("gazetteer", value.size, value.hashes.tobytes())
    if isinstance(value, array):
        return value.tobytes()
    if dataclasses.is_dataclass(value):
        return tuple(plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    return value


def test_round_trip_gives_the_built_tables(folder):
    built = {}
    for accessor in TABLES:
        accessor.cache_clear()
        built[accessor] = accessor()  # cold: built, then written
    names = {p.name for p in folder.iterdir()}
    assert names == {f"{a.__module__.rsplit('.', 1)[1]}.{a.__name__}.pickle" for a in TABLES}
    for accessor in TABLES:
        accessor.cache_clear()
        assert plain(accessor()) == plain(built[accessor])  # warm: read back
    assert places.country_of_name("Allemagne") == "DE" and places.place_tier("München") == 3
    assert isinstance(places.postal_patterns()["FR"], re.Pattern)


def test_gazetteer_hashes_agree_across_processes():
    # Python's str hash is salted per process: a cached array of those would match nothing in the next process.
    code = "from scanning.detection.reference.places import _hash64; print(_hash64('münchen'))"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "12345"},
                         check=True, capture_output=True, text=True)
    assert int(out.stdout) == _hash64("münchen")
    assert "münchen" in _Gazetteer(["münchen", "paris"]) and "lyon" not in _Gazetteer(["münchen", "paris"])


def test_warm_load_does_not_build(folder):
    builder = Builder()
    assert builder.load() == builder.value and builder.calls == 1
    assert builder.load() == builder.value and builder.calls == 1
    assert oct((folder / "demo.pickle").stat().st_mode & 0o777) == "0o600"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert [p.name for p in folder.iterdir()] == ["demo.pickle"]  # no temporary file left


def test_a_changed_source_makes_the_file_stale(folder, tmp_path):
    source = tmp_path / "builder.py"
    source.write_text("VERSION = 1\n")
    builder = Builder()
    builder.load(sources=[str(source)])
    cache.key.cache_clear()  # a new process reads the edited source
    source.write_text("VERSION = 2\n")
    builder.load(sources=[str(source)])
    assert builder.calls == 2
    builder.load(sources=[str(source)])
    assert builder.calls == 2  # rewritten under the new key


def test_a_stale_key_rebuilds(folder):
    builder = Builder()
    builder.load()
    path = folder / "demo.pickle"
    path.write_bytes(b"0" * 64 + b"\n" + pickle.dumps({"old": "table"}))
    assert builder.load() == builder.value and builder.calls == 2
    assert builder.load() == builder.value and builder.calls == 2


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],  # truncated
    lambda data: data.split(b"\n", 1)[0] + b"\n" + b"\x80\x05garbage",  # corrupt pickle
    lambda data: b"",  # empty
])
def test_a_corrupt_file_rebuilds(folder, damage):
    builder = Builder()
    builder.load()
    path = folder / "demo.pickle"
    path.write_bytes(damage(path.read_bytes()))
    assert builder.load() == builder.value and builder.calls == 2
    assert builder.load() == builder.value and builder.calls == 2


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_folder_others_can_write_is_refused(folder, mode, caplog):
    folder.mkdir()
    folder.chmod(mode)
    planted = Builder({"planted": True})
    (folder / "demo.pickle").write_bytes(cache.key((__file__,), ("pycountry",)) + b"\n" + pickle.dumps(planted.value))
    os.chmod(folder / "demo.pickle", 0o600)
    cache._warn_once.cache_clear()
    builder = Builder()
    assert cache.private_directory() is None
    assert builder.load() == builder.value and builder.load() == builder.value
    assert builder.calls == 2  # no cache at all: built each time, nothing read or written
    assert [p.name for p in folder.iterdir()] == ["demo.pickle"]
    assert "reference cache off" in caplog.text


def test_a_file_others_can_write_or_a_link_is_not_read(folder, tmp_path):
    builder = Builder()
    builder.load()
    path = folder / "demo.pickle"
    planted = path.read_bytes().split(b"\n", 1)[0] + b"\n" + pickle.dumps({"planted": True})
    path.write_bytes(planted)
    path.chmod(0o666)
    assert builder.load() == builder.value and builder.calls == 2  # rebuilt, and replaced by a private file
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    elsewhere = tmp_path / "elsewhere.pickle"
    elsewhere.write_bytes(planted)
    elsewhere.chmod(0o600)
    path.unlink()
    path.symlink_to(elsewhere)
    assert builder.load() == builder.value and builder.calls == 3
    assert not path.is_symlink()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_folder_of_another_user_is_refused(folder):
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    assert cache.private_directory() is None


def test_off_builds_in_memory_only(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV, "off")
    builder = Builder()
    assert builder.load() == builder.value and builder.load() == builder.value and builder.calls == 2
    assert cache.directory() is None


def test_default_folder_is_under_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.directory() == tmp_path / "racine" / "reference"


def test_a_failed_write_still_gives_the_table(folder, monkeypatch):
    def full_disk(**kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.tempfile, "mkstemp", full_disk)
    builder = Builder()
    assert builder.load() == builder.value and builder.calls == 1
    assert list(folder.iterdir()) == []


def test_the_celery_worker_preloads_before_forking(monkeypatch):
    from celery.signals import worker_init

    from scanning import tasks

    calls = []
    monkeypatch.setattr(reference, "load_all", lambda: calls.append("loaded"))
    monkeypatch.setattr(tasks.gc, "freeze", lambda: calls.append("frozen"))
    assert tasks.preload_reference in [receiver() for _, receiver in worker_init.receivers]  # weak references
    tasks.preload_reference()
    assert calls == ["loaded", "frozen"]
