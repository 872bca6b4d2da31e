import numpy as np

from tflbench.cache import Cache, array_digest, content_key, file_digest


def test_content_key_is_order_independent_for_dicts_and_sensitive_to_values():
    assert content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})
    assert content_key({"a": 1}) != content_key({"a": 2})


def test_array_digest_sees_dtype_and_shape():
    a = np.zeros((2, 3), np.float32)
    assert array_digest(a) != array_digest(a.reshape(3, 2))
    assert array_digest(a) != array_digest(a.astype(np.float64))


def test_file_digest_of_directory_covers_names(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"x")
    before = file_digest(tmp_path / "d")
    (tmp_path / "d" / "a").rename(tmp_path / "d" / "b")
    assert file_digest(tmp_path / "d") != before


def test_round_trips_and_disabled_cache_misses(tmp_path):
    c = Cache(tmp_path)
    c.put_array("ref", "k", np.arange(4))
    c.put_json("meta", "k", {"x": 1})
    assert c.get_array("ref", "k").tolist() == [0, 1, 2, 3]
    assert c.get_json("meta", "k") == {"x": 1}
    off = Cache(tmp_path, enabled=False)
    assert off.get_array("ref", "k") is None and off.get_json("meta", "k") is None


def test_damaged_entry_is_a_miss(tmp_path):
    c = Cache(tmp_path)
    c.put_array("ref", "k", np.arange(4))
    c.path("ref", "k", ".npy").write_bytes(b"garbage")
    assert c.get_array("ref", "k") is None
