"""Words the phonemizer says wrong are respelled before piper sees them."""

from app.engines.tts import respell


def test_the_assistants_name_is_respelled_wherever_it_appears():
    assert respell("I'm Hearken. HEARKEN runs offline; hearkening stays") == (
        "I'm Harken. Harken runs offline; hearkening stays"
    )
