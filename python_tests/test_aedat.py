"""AEDAT 2.0 / 3.1 decoding: hand-decoded addresses, round trips of a few hundred events, malformed files."""
import numpy as np
import pytest

from event_files import (AEDAT2_HEADER, aedat31_packet, dvs128_address, polarity_word, write_aedat2,
                         write_aedat31)
from fastlif.data.aedat import read_aedat2, read_aedat31, read_header


def test_aedat2_hand_decoded_address(tmp_path):
    # 0x1234: bit 0 = 0 (ON once inverted), raw x = (0x34 & 0xFE) >> 1 = 26, raw y = 0x12 = 18
    # -> x = 127 - 18 = 109, y = 127 - 26 = 101, p = 1.  0x0101: bit 1 -> p = 0, raw x = 0, raw y = 1.
    f = tmp_path / "a.aedat"
    write_aedat2(f, [0x1234, 0x0101], [7, 2**32 - 1])
    ev = read_aedat2(f)
    assert ev.x.tolist() == [109, 126]
    assert ev.y.tolist() == [101, 127]
    assert ev.p.tolist() == [1, 0]
    assert ev.t.tolist() == [7, 2**32 - 1]


def test_aedat2_round_trip_and_header(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    t = np.sort(rng.integers(0, 10**6, n))
    f = tmp_path / "cifar10_cat_3.aedat"
    write_aedat2(f, dvs128_address(x, y, p), t)
    lines, offset = read_header(f)
    assert lines[0] == "#!AER-DAT2.0" and len(lines) == 3
    assert offset == len(AEDAT2_HEADER)
    ev = read_aedat2(f)
    assert len(ev) == n
    np.testing.assert_array_equal(ev.x, x)
    np.testing.assert_array_equal(ev.y, y)
    np.testing.assert_array_equal(ev.p, p)
    np.testing.assert_array_equal(ev.t, t)


def test_aedat2_truncated_file_names_the_file(tmp_path):
    f = tmp_path / "broken.aedat"
    write_aedat2(f, [1, 2, 3], [1, 2, 3])
    f.write_bytes(f.read_bytes()[:-3])
    with pytest.raises(ValueError, match="broken.aedat.*truncated"):
        read_aedat2(f)


def test_aedat2_rejects_other_version(tmp_path):
    f = tmp_path / "v3.aedat"
    write_aedat2(f, [1], [1], header=b"#!AER-DAT3.1\r\n#!END-HEADER\r\n")
    with pytest.raises(ValueError, match="v3.aedat.*AEDAT 2.0"):
        read_aedat2(f)


def test_aedat31_hand_decoded_word_and_overflow(tmp_path):
    # 0x00220009: valid = 1, p = (9 >> 1) & 1 = 0, y = (0x220009 >> 2) & 0x7FFF = 2, x = 0x220009 >> 17 = 17
    f = tmp_path / "user01_led.aedat"
    write_aedat31(f, [aedat31_packet(1, [0x00220009], [5]),
                      aedat31_packet(1, [0x00220009 | 0x2], [6], ts_overflow=3)])
    ev = read_aedat31(f)
    assert ev.x.tolist() == [17, 17] and ev.y.tolist() == [2, 2] and ev.p.tolist() == [0, 1]
    assert ev.t.tolist() == [5, (3 << 31) | 6]


def test_aedat31_round_trip_skips_other_packets_and_invalid_events(tmp_path):
    rng = np.random.default_rng(1)
    n = 400
    x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    t = np.sort(rng.integers(0, 10**7, n))
    valid = np.ones(n, np.uint32)
    valid[::37] = 0  # invalidated events are not decoded
    words = polarity_word(x, y, p, valid)
    special = aedat31_packet(0, [0xFFFFFFFF, 0x1], [0, 1])          # special events: no pixels
    imu = aedat31_packet(3, [0] * 15, [0] * 15, event_size=4)       # another type with its own event size
    f = tmp_path / "rec.aedat"
    write_aedat31(f, [special, aedat31_packet(1, words[:150], t[:150]), imu,
                      aedat31_packet(1, words[150:], t[150:])])
    ev = read_aedat31(f)
    keep = valid == 1
    assert len(ev) == keep.sum()
    np.testing.assert_array_equal(ev.x, x[keep])
    np.testing.assert_array_equal(ev.y, y[keep])
    np.testing.assert_array_equal(ev.p, p[keep])
    np.testing.assert_array_equal(ev.t, t[keep])


@pytest.mark.parametrize("cut", [5, 18])  # the last packet loses event bytes / half its header
def test_aedat31_truncated_file_names_the_file(tmp_path, cut):
    f = tmp_path / "user02_lab.aedat"
    write_aedat31(f, [aedat31_packet(1, polarity_word([1, 2], [3, 4], [0, 1]), [1, 2]),
                      aedat31_packet(1, polarity_word([1], [3], [1]), [9])])
    data = f.read_bytes()
    f.write_bytes(data[:-cut])
    with pytest.raises(ValueError, match="user02_lab.aedat.*truncated"):
        read_aedat31(f)


def test_aedat31_needs_its_header(tmp_path):
    f = tmp_path / "raw.aedat"
    f.write_bytes(aedat31_packet(1, [1], [1]))
    with pytest.raises(ValueError, match="raw.aedat.*AEDAT 3"):
        read_aedat31(f)


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (bytes(range(256)) * 16, "not an AEDAT 2.0 file"),  # headerless bytes: not 512 garbage events
    (AEDAT2_HEADER, "an AEDAT 2.0 header without events"),
])
def test_aedat2_empty_or_headerless_file_is_an_error_naming_it(tmp_path, content, message):
    f = tmp_path / "cifar10_cat_7.aedat"
    f.write_bytes(content)
    with pytest.raises(ValueError, match=f"cifar10_cat_7.aedat: {message}"):
        read_aedat2(f)
