"""The detection benchmark times Racine and Presidio the same way: whole passes, interleaved, each reported with its
spread. (It used to take the best of three Racine passes against one Presidio pass, so a busy machine inflated the
ratio: one run printed 133×.)"""
import pytest

from bench.detection.run import Spread, interleaved, ratio


def test_passes_are_warmed_up_then_interleaved_and_each_timed_whole():
    calls: list[str] = []
    ticks = iter(range(1000))

    def make(name):
        def run():
            calls.append(name)
            return [name]
        return run

    predictions, spreads = interleaved({"racine": make("racine"), "presidio": make("presidio")}, n_columns=10,
                                       rounds=3, clock=lambda: next(ticks))
    assert calls == ["racine", "presidio"] + ["racine", "presidio"] * 3
    assert predictions == {"racine": ["racine"], "presidio": ["presidio"]}
    assert spreads["racine"].rates == spreads["presidio"].rates == (10.0, 10.0, 10.0)  # one clock tick per pass


def test_spread_and_ratio_report_median_and_range():
    fast, slow = Spread((100.0, 60.0, 90.0)), Spread((2.0, 1.0, 3.0))
    assert fast.median == 90.0
    assert str(fast) == "90.0 (60.0–100.0)"
    median, low, high = ratio(fast, slow)
    assert median == 45.0
    assert (low, high) == (30.0, 60.0)  # per round: 100/2, 60/1, 90/3


def test_a_load_spike_during_one_pass_moves_the_range_not_the_median():
    quiet = Spread((100.0, 101.0, 99.0, 100.0, 102.0))
    spiked = Spread((1.0, 1.0, 0.25, 1.0, 1.0))
    median, low, high = ratio(quiet, spiked)
    assert median == pytest.approx(100.0)
    assert (low, high) == (pytest.approx(100.0), pytest.approx(396.0))
