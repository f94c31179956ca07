"""The phrase-cut check's judges: word error rate and "did Whisper end a sentence at the cut"."""

from __future__ import annotations

import numpy as np

from app.tools.bench_phrase import _edge_silence, sentence_end_after, wer


def test_wer_ignores_case_and_punctuation_and_counts_each_error() -> None:
    assert wer("The capital of France is Paris.", "the capital of france, is paris") == 0.0
    assert wer("There are 366 days in a leap year.", "There are 366 days, and a leap year.") == 1 / 8
    assert wer("a b c", "a c") == 1 / 3
    assert wer("a b", "a b c d") == 1.0
    assert wer("", "") == 0.0


def test_a_full_stop_after_the_cut_word_is_a_sentence_end() -> None:
    first = "The capital of France,"
    assert sentence_end_after("The capital of France. Is Paris.", first) is True
    assert sentence_end_after("The capital of France, is Paris.", first) is False
    assert sentence_end_after("The capital of France is Paris.", first) is False
    # found by alignment, not by position: a word Whisper added before it does not matter
    assert sentence_end_after("Well, the capital of France! Paris.", first) is True
    assert sentence_end_after("Something else entirely", first) is None


def test_edge_silence_measures_the_quiet_ends_of_a_piece() -> None:
    sr = 1000
    piece = np.concatenate([np.zeros(50), 0.5 * np.ones(100), np.zeros(200)]).astype(np.float32)
    assert _edge_silence(piece, sr, end=False) == 0.05
    assert _edge_silence(piece, sr, end=True) == 0.2
