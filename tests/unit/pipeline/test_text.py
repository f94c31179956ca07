"""Tests for app.pipeline.text: speech cleaning, clause splitting and transcript heuristics."""

from __future__ import annotations

import random

import pytest

from app.pipeline.text import (
    ClauseSplitter,
    _clean,  # the cleaner without clean_for_speech's safety net
    clean_for_speech,
    is_probably_hallucination,
    looks_complete,
    split_words_played,
)

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _split(chunks: list[str], **kwargs: int) -> list[str]:
    splitter = ClauseSplitter(**kwargs)
    out: list[str] = []
    for chunk in chunks:
        out += splitter.feed(chunk)
    return out + splitter.flush()


def _tokens(text: str, rng: random.Random) -> list[str]:
    """Realistic LLM deltas: 1-4 characters each."""
    out, i = [], 0
    while i < len(text):
        n = rng.randint(1, 4)
        out.append(text[i : i + n])
        i += n
    return out


def _random_unicode(rng: random.Random) -> str:
    chars = []
    for _ in range(rng.randint(0, 60)):
        r = rng.random()
        if r < 0.3:
            chars.append(rng.choice("*_`#>|-+[]()!.,;:?~<>&\n \t"))
        elif r < 0.5:
            chars.append(chr(rng.randint(0x20, 0x7E)))
        elif r < 0.65:
            chars.append(chr(rng.randint(0x1F000, 0x1FAFF)))  # emoji planes
        else:
            chars.append(chr(rng.randint(0, 0x10FFFF)))  # anything, surrogates included
    return "".join(chars)


# ---------------------------------------------------------------------------
# clean_for_speech
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # plain text passes through
        ("Hello there, how are you?", "Hello there, how are you?"),
        ("", ""),
        ("   \n\t ", ""),
        # emphasis, but not snake_case
        ("**Bold** and *italic* and __under__ and _emph_.", "Bold and italic and under and emph."),
        ("***both*** and ~~struck~~", "both and struck"),
        ("Call my_func_name with snake_case_args.", "Call my_func_name with snake_case_args."),
        ("**Note:** the oven is hot", "Note: the oven is hot"),
        ("3 * 4 = 12", "3 * 4 = 12"),
        # headings, quotes, lists
        ("# Title\nSome text.", "Title. Some text."),
        ("## Step 2: Mix\nStir well.", "Step 2: Mix. Stir well."),
        ("> A quoted line.", "A quoted line."),
        ("- one\n- two\n* three\n+ four", "one. two. three. four."),
        ("1. First\n2. Second\n3) Third", "First. Second. Third."),
        ("- [ ] todo\n- [x] done", "todo. done."),
        (
            "Here are three ideas:\n\n1. **Walk** in the park\n2. Read a *book*\n3. Call a friend 📞\n\nHave fun!",
            "Here are three ideas: Walk in the park. Read a book. Call a friend. Have fun!",
        ),
        ("Steps:\n- Preheat to 200°C\n- Bake *20* minutes", "Steps: Preheat to 200°C. Bake 20 minutes."),
        ("---\nAfter a rule\n***", "After a rule"),
        # code
        ("Run `pip install x` now.", "Run pip install x now."),
        ("Here it is:\n```python\nprint('hi. there')\n```\nDone.", "Here it is: Done."),
        ("```\nonly code\n```", ""),
        ("Unclosed:\n```js\nlet x = 1;", "Unclosed:"),
        # links and URLs
        ("See [the docs](https://docs.python.org/3/).", "See the docs."),
        ("Go to https://www.example.com/path?q=1.", "Go to example.com."),
        ("Visit www.google.com today", "Visit google.com today"),
        ("Check <https://github.com/foo/bar>.", "Check github.com."),
        ("(see https://en.wikipedia.org/wiki/Foo_(bar)) ok", "(see en.wikipedia.org) ok"),
        ("![a cat](http://x.org/cat.png) A cat.", "A cat."),
        # emoji and pictographs
        ("Great job! 🎉👍🏽", "Great job!"),
        ("Flags 🇺🇸 and families 👨\u200d👩\u200d👧 ❤️ gone", "Flags and families gone"),
        ("Café ☕ time", "Café time"),
        ("😀", ""),
        # HTML
        ("<b>bold</b> text &amp; more", "bold text & more"),
        ("Line one<br>Line two", "Line one. Line two"),
        # tables
        ("| Name | Age |\n|------|-----|\n| Bob | 30 |\n| Al | 4 |", "Name, Age. Bob, 30. Al, 4."),
        # punctuation
        ("Wow!!! Really??? What?! Hmm..... ok,, fine", "Wow! Really? What? Hmm... ok, fine"),
        ("Wait -- what", "Wait — what"),
        # left alone: abbreviations, numbers, currency, apostrophes, symbols read as words
        (
            "e.g. this, i.e. that, 3.14 and 1,000 and $5 and it's 25°C.",
            "e.g. this, i.e. that, 3.14 and 1,000 and $5 and it's 25°C.",
        ),
        ("It's 10:30 a.m. in the U.S. now, €3.50 each.", "It's 10:30 a.m. in the U.S. now, €3.50 each."),
        ("e.g., this", "e.g., this"),
        # whitespace
        ("  lots   of\tspace  ", "lots of space"),
        ("ＦＵＬＬ width", "FULL width"),
    ],
)
def test_clean_for_speech(text: str, expected: str) -> None:
    assert clean_for_speech(text) == expected


def test_clean_for_speech_fuzz_never_raises() -> None:
    rng = random.Random(20240611)
    for _ in range(2000):
        text = _random_unicode(rng)
        out = clean_for_speech(text)
        assert isinstance(out, str)
        assert "**" not in out and "```" not in out
        assert "\n" not in out and out == out.strip()
        # the real cleaner, not its defensive fallback, must cope on its own
        assert _clean(text) == out
        assert isinstance(_clean(text, line_start=False), str)


# ---------------------------------------------------------------------------
# ClauseSplitter
# ---------------------------------------------------------------------------

SPLIT_CASES = [
    # sentences; numbers and abbreviations stay whole
    (
        "Sure, I can help with that. The answer is 3.14, roughly. Mr. Smith paid $1,000 for it!",
        ["Sure, I can help with that.", "The answer is 3.14, roughly.", "Mr. Smith paid $1,000 for it!"],
    ),
    (
        "Dr. Jones lives on Main St. near the U.S. border, e.g. in town. Yes.",
        ["Dr. Jones lives on Main St. near the U.S. border,", "e.g. in town.", "Yes."],
    ),
    (
        "Apples, pears, etc. are fruit. You can buy them at 9 a.m. Every day, i.e. today.",
        ["Apples, pears, etc. are fruit.", "You can buy them at 9 a.m.", "Every day, i.e. today."],
    ),
    ("Version 2.5.1 costs 1,299.99 dollars.", ["Version 2.5.1 costs 1,299.99 dollars."]),
    ("J. K. Rowling wrote it.", ["J. K. Rowling wrote it."]),
    # the first clause goes early at a comma once 4 words are in; later ones wait for a sentence end
    (
        "I think that the best option, in my view, is to wait. Then decide.",
        ["I think that the best option,", "in my view, is to wait.", "Then decide."],
    ),
    (
        "Well, let me think about this one, okay? Sure.",
        ["Well, let me think about this one,", "okay?", "Sure."],
    ),
    ("Yes, it is: three. Done.", ["Yes, it is: three.", "Done."]),
    ("One two three four - five six.", ["One two three four -", "five six."]),
    # ellipses: a sentence end only before a capital
    (
        "Wait... what? I was thinking... maybe later. Well... That is it.",
        ["Wait... what?", "I was thinking... maybe later.", "Well...", "That is it."],
    ),
    # markdown list reply -> speakable sentences
    (
        "Here are three ideas:\n\n1. **Walk** in the park\n2. Read a *book*\n3. Call a friend 📞\n\nHave fun!",
        ["Here are three ideas:", "Walk in the park.", "Read a book.", "Call a friend.", "Have fun!"],
    ),
    # code fences are buffered whole and dropped
    (
        "Here's the code:\n```python\nx = 1. \ny = 2, z\nprint('hi. there')\n```\nRun it. It prints hi.",
        ["Here's the code:", "Run it.", "It prints hi."],
    ),
    ("```\nonly code, nothing. else\n```", []),
    # links, inline code and table rows are not cut inside
    (
        "See [the docs, which are long](https://docs.python.org/3/) for more. Or visit https://example.com/a. Bye!",
        ["See the docs, which are long for more.", "Or visit example.com.", "Bye!"],
    ),
    ("Use `a, b, c, d, e` here, friend.", ["Use a, b, c, d, e here,", "friend."]),
    (
        "| Name | Age, in years |\n|---|---|\n| Bob | 30 |\nThat's all.",
        ["Name, Age, in years.", "Bob, 30.", "That's all."],
    ),
    # emoji-only clauses vanish
    ("Great job! 🎉", ["Great job!"]),
    ("🎉🎉", []),
    # a long sentence is cut at a comma once it passes max_words
    (
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen, "
        "seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four twenty-five "
        "twenty-six twenty-seven end.",
        [
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen,",
            "seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three twenty-four twenty-five "
            "twenty-six twenty-seven end.",
        ],
    ),
    # no punctuation at all: a hard cut after 2 * max_words words
    (" ".join(["word"] * 60), [" ".join(["word"] * 25), " ".join(["word"] * 35)]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), SPLIT_CASES)
def test_clause_splitter_whole(text: str, expected: list[str]) -> None:
    assert _split([text]) == expected


@pytest.mark.parametrize(("text", "expected"), SPLIT_CASES)
def test_clause_splitter_streaming_matches_whole(text: str, expected: list[str]) -> None:
    assert _split(list(text)) == expected
    rng = random.Random(len(text))
    for _ in range(5):
        assert _split(_tokens(text, rng)) == expected


def test_first_clause_at_comma_after_four_words_before_sentence_end() -> None:
    splitter = ClauseSplitter()
    assert splitter.feed("Sure, here you go") == []  # "Sure," has one word: keep going
    assert splitter.feed(", this is") == ["Sure, here you go,"]
    assert splitter.feed(" long, very long") == []  # after the first clause, commas wait
    assert splitter.feed(". Next") == ["this is long, very long."]
    assert splitter.flush() == ["Next"]


def test_boundary_confirmed_only_by_the_next_character() -> None:
    splitter = ClauseSplitter()
    assert splitter.feed("It is 3.") == []  # could become 3.5
    assert splitter.feed("5 today.") == []
    assert splitter.feed(" And") == ["It is 3.5 today."]
    assert splitter.feed(" 1,") == []  # could become 1,000
    assert splitter.feed("000, two three four") == []
    assert splitter.flush() == ["And 1,000, two three four"]


def test_first_min_words_is_configurable() -> None:
    assert _split(["Okay, so, let's go. Done."], first_min_words=1) == ["Okay,", "so, let's go.", "Done."]


def test_code_fence_is_buffered_until_closed() -> None:
    splitter = ClauseSplitter()
    assert splitter.feed("Look.\n```\nprint(1). x, y: z\n") == ["Look."]
    assert splitter.feed("more. stuff\n") == []
    assert splitter.feed("```\nAfter. ") == ["After."]


def test_flush_resets_and_reset_clears() -> None:
    splitter = ClauseSplitter()
    splitter.feed("Half a sentence, left over")
    splitter.reset()
    assert splitter.flush() == []
    assert splitter.feed("One two three four, five.") == ["One two three four,"]
    assert splitter.flush() == ["five."]
    # after flush the next stream starts with a "first clause" again
    assert splitter.feed("Four words are here, and more. ") == ["Four words are here,", "and more."]


def test_streaming_is_chunking_invariant_on_random_markdown() -> None:
    vocab = [
        "word", "Mr.", "3.14", "1,000", "e.g.", "etc.", "a.m.", "U.S.", "...", "…", ".", ",", ";", ":",
        "!", "?", " - ", " — ", "\n", "\n\n", "```", "`", "[", "](", ")", "|", "**", "_", "#", "> ",
        "1. ", "Hello", "the", " ", "🎉", "https://x.com/a.b", "J.", '"',
    ]  # fmt: skip
    rng = random.Random(7)
    for _ in range(150):
        parts = [rng.choice(vocab) for _ in range(rng.randint(1, 40))]
        text = "".join(p if rng.random() < 0.3 else p + " " for p in parts)
        kwargs = {"first_min_words": rng.randint(1, 5), "max_words": rng.randint(2, 10)}
        whole = _split([text], **kwargs)
        assert _split(list(text), **kwargs) == whole, text
        assert _split(_tokens(text, rng), **kwargs) == whole, text
        assert all(clause and clause == clause.strip() for clause in whole)


def test_clause_splitter_fuzz_never_raises() -> None:
    rng = random.Random(99)
    for _ in range(300):
        text = _random_unicode(rng)
        for clause in _split(_tokens(text, rng)):
            assert isinstance(clause, str) and clause


# ---------------------------------------------------------------------------
# split_words_played
# ---------------------------------------------------------------------------

PLAYED = "Hello there, how are you today?"


@pytest.mark.parametrize(
    ("text", "fraction", "expected"),
    [
        (PLAYED, 0.0, ""),
        (PLAYED, -1.0, ""),
        (PLAYED, float("nan"), ""),
        (PLAYED, 0.05, ""),
        (PLAYED, 0.1, "Hello"),
        (PLAYED, 0.3, "Hello there,"),
        (PLAYED, 0.5, "Hello there, how"),
        (PLAYED, 0.75, "Hello there, how are you"),
        (PLAYED, 0.999, PLAYED),
        (PLAYED, 1.0, PLAYED),
        (PLAYED, 3.0, PLAYED),
        ("", 0.5, ""),
        ("Supercalifragilistic", 0.4, ""),
        ("Supercalifragilistic", 0.6, "Supercalifragilistic"),
    ],
)
def test_split_words_played(text: str, fraction: float, expected: str) -> None:
    result = split_words_played(text, fraction)
    assert result == expected
    assert text.startswith(result)


# ---------------------------------------------------------------------------
# is_probably_hallucination
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thank you for watching", True),
        ("Thanks for watching!", True),
        ("Thank you so much for watching!", True),
        ("Please subscribe", True),
        ("Like and subscribe!", True),
        ("Thanks for watching, and don't forget to subscribe!", True),
        ("Subtitles by the Amara.org community", True),
        ("you", True),
        ("You.", True),
        ("Thank you.", True),
        ("Thank you. Bye.", True),
        ("Bye.", True),
        (".", True),
        ("", True),
        ("  ...  ", True),
        ("[Music]", True),
        ("(upbeat music)", True),
        ("[BLANK_AUDIO]", True),
        ("♪", True),
        ("♪♪ ♪", True),
        ("Thank you for the help", False),
        ("Thank you, turn it off.", False),
        ("you know what", False),
        ("Turn on the lights", False),
        ("[Music] Turn on the lights", False),
        ("What's the weather?", False),
        ("Okay.", False),
    ],
)
def test_is_probably_hallucination(text: str, expected: bool) -> None:
    assert is_probably_hallucination(text) is expected


def test_is_probably_hallucination_is_fast_on_repetitions() -> None:
    assert is_probably_hallucination("bye " * 200 + "now") is False
    assert is_probably_hallucination("thank you " * 200) is True


# ---------------------------------------------------------------------------
# looks_complete
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What's the weather today?", True),
        ("Turn on the lights.", True),
        ("Set a timer for 5 minutes!", True),
        ("Is it 3.14?", True),
        ('What is the capital of France?"', True),
        ("What time is it and", False),
        ("What time is it and?", False),
        ("I want to go to the", False),
        ("Tell me about um.", False),
        ("Play something by the.", False),
        ("Remind me to", False),
        ("Um, what about,", False),
        ("so...", False),
        ("Well…", False),
        ("set a timer", False),
        ("Can you tell me?", False),  # Whisper punctuates a fragment: the words say it goes on
        ("I would like to know.", False),
        ("Do you know what time it is?", True),  # embedded questions end on "is"
        ("What does it look like?", True),
        ("I was wondering if.", False),
        ("Tell me.", True),  # one or two words: a whole request
        ("Is it?", True),
        ("What is it?", True),
        ("Who are you?", True),
        ("What do you know?", True),
        ("Set a timer.", True),  # no text rule can know the user will go on here
        ("", False),
        ("   ", False),
        ("?", False),
    ],
)
def test_looks_complete(text: str, expected: bool) -> None:
    assert looks_complete(text) is expected


@pytest.mark.parametrize(
    "reply,spoken",
    [
        ("Sure! [interrupted by the user]", "Sure!"),
        ("[laughs] Okay, here it is.", "Okay, here it is."),
        ("Read [the guide](https://example.com) first.", "Read the guide first."),
    ],
)
def test_stage_directions_in_brackets_are_never_spoken(reply, spoken):
    from app.pipeline.text import strip_stage_directions

    assert clean_for_speech(reply) == spoken
    assert strip_stage_directions(reply) == spoken


@pytest.mark.parametrize(
    "text,is_request",
    [
        ("What is the capital of France?", True),
        ("Set a timer for 5 minutes.", True),
        ("who wrote pride in prejudice.", True),
        ("Thanks!", True),
        ("I need a recipe for soup.", True),
        ("Isolated tornadoes.", False),  # the start of a statement
        ("The horizon seems extremely distant.", False),
        ("", False),
    ],
)
def test_what_reads_as_said_to_an_assistant(text, is_request):
    from app.pipeline.text import reads_as_request

    assert reads_as_request(text) is is_request


PHRASE_CASES = [
    ("The capital of France is Paris. It is big.", ["The capital of France,", "is Paris.", "It is big."]),
    ("There are 366 days in a leap year.", ["There are 366 days,", "in a leap year."]),
    ("I recommend the book because it is fun.", ["I recommend the book,", "because it is fun."]),
    # before three words, or with punctuation first, nothing changes
    ("Paris is the capital.", ["Paris is the capital."]),
    ("Sure! Boil it for ten minutes.", ["Sure!", "Boil it for ten minutes."]),
    # "island" is no "is"; "of" and "to" never open a phrase
    ("A small island nation of people wants to go.", ["A small island nation of people wants to go."]),
    # a later clause is never cut at a phrase word
    ("Yes. The capital of France is Paris.", ["Yes.", "The capital of France is Paris."]),
]


@pytest.mark.parametrize(("text", "expected"), PHRASE_CASES)
def test_first_clause_may_end_before_a_phrase_word_when_asked(text: str, expected: list[str]) -> None:
    def split(parts: list[str]) -> list[str]:
        sp = ClauseSplitter(first_phrase_words=3)
        out = [c for p in parts for c in sp.feed(p)]
        return out + sp.flush()

    assert split([text]) == expected
    assert split(list(text)) == expected  # the same however it is streamed
    rng = random.Random(len(text))
    assert split(_tokens(text, rng)) == expected
    if len(expected) > 1 and expected[0].endswith(","):
        assert _split([text]) != expected  # off by default
