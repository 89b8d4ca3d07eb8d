from accounts.wording import counted


def test_a_count_takes_its_noun_in_the_right_number():
    assert counted(1, "device") == "1 device"
    assert counted(0, "device") == "0 devices"
    assert counted(2, "classification") == "2 classifications"
    assert counted(3, "entry", "entries") == "3 entries"
