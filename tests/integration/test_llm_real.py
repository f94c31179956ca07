"""llama.cpp prefill between turns: the next turn evaluates only the user's new words."""

from __future__ import annotations

import pytest

from app.config import DEFAULT_SYSTEM_PROMPT, Settings
from app.engines.llm import PREFILL_BATCH, LlamaCppLlm
from app.models import resolve


@pytest.fixture(scope="module")
def llm():
    engine = LlamaCppLlm(resolve("llm", Settings()).path, n_ctx=2048, threads=1, batch_threads=2)
    engine.warm_up(DEFAULT_SYSTEM_PROMPT)
    evaluated: list[int] = []
    real_eval = engine.llm.eval

    def counting_eval(tokens):
        evaluated.append(len(tokens))
        return real_eval(tokens)

    engine.llm.eval = counting_eval
    engine.evaluated = evaluated
    return engine


def _turn(llm, history, question):
    msgs = [*history, {"role": "user", "content": question}]
    llm.evaluated.clear()
    reply = "".join(llm.stream_chat(msgs, max_tokens=24, temperature=0.0)).strip()
    history += [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
    return llm.evaluated[0]  # the prompt; every later eval() is one generated token


def test_prefill_leaves_only_the_new_words_to_the_next_turn(llm):
    history = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}]
    for q in ("What is the capital of France?", "Why is the sky blue?", "Tell me a short joke."):
        _turn(llm, history, q)
        llm.prefill(history)
    assert llm.prefill(history) == 0  # nothing left: already cached
    question = "How far away is the moon?"
    new_words = llm.count_tokens(question) + 8  # and the chat template's markers around them
    assert _turn(llm, history, question) <= new_words

    # The window moves (the oldest exchanges dropped): the prefill re-evaluates the kept
    # history now, and the next turn again evaluates only its own words.
    del history[1:5]
    assert llm.prefill(history) > 30
    assert _turn(llm, history, "What is the boiling point of water?") <= new_words + 4


def test_prefill_stops_between_batches(llm):
    history = [{"role": "system", "content": "You are terse. " * 20}]
    history += [{"role": "user", "content": "word " * 120}, {"role": "assistant", "content": "Okay."}]
    llm.evaluated.clear()
    assert llm.prefill(history, should_stop=lambda: len(llm.evaluated) >= 1) == PREFILL_BATCH
    assert llm.prefill(history) > PREFILL_BATCH  # and a later call finishes the job


def test_words_heard_while_the_user_speaks_are_left_out_of_the_turns_prompt(llm):
    history = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}]
    _turn(llm, history, "Why is the sky blue?")
    question = "How many days are there in a leap year?"
    _turn(llm, [history[0]], "Tell me a short joke.")  # the cache now holds another conversation

    # between turns: the conversation and the next message's opening; then the words heard
    assert llm.prefill(history, user_prefix="") > 0
    assert llm.prefill(history, user_prefix="How many days are there in") == llm.count_tokens(
        "How many days are there in"
    )
    assert llm.prefill(history, user_prefix="How many days are there in") == 0  # already cached
    # the turn's prompt only evaluates what came after them and the markers around the reply
    left = _turn(llm, history, question)
    assert left <= llm.count_tokens(" a leap year?") + 6

    # a partial transcript the final one contradicts costs nothing but the words that differ
    # (the markers around the question alone are 8 tokens)
    history = history[:-2]
    llm.prefill(history, user_prefix="How many bays")
    assert _turn(llm, history, question) <= llm.count_tokens(question) + 6
