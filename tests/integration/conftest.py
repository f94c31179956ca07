from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.audio.io import load_speech
from app.config import Settings
from app.models import ROLES, ModelError, resolve

QUESTIONS = {
    "capital": "What is the capital of France?",
    "leap": "How many days are there in a leap year?",
    "timer": "Set a timer for five minutes.",
    "novel": "Who wrote the novel Pride and Prejudice?",
    "story": "Tell me a long story about a brave little dragon who learns to fly.",
}


@pytest.fixture(scope="session", autouse=True)
def _real_models_present():
    try:
        for role in ROLES:
            resolve(role, Settings())
    except ModelError as exc:
        pytest.fail(f"integration tests need the default models (make test installs them): {exc}")


@pytest.fixture(scope="session")
def spoken(tmp_path_factory) -> dict[str, Path]:
    """Spoken questions made with espeak-ng (a different voice from the assistant's), 16 kHz WAV."""
    if not shutil.which("espeak-ng"):
        pytest.fail("espeak-ng is needed for spoken test questions (apt-get install espeak-ng)")
    out = tmp_path_factory.mktemp("spoken")
    files = {}
    for key, text in QUESTIONS.items():
        raw = out / f"{key}.raw.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
        files[key] = raw
    return files


@pytest.fixture(scope="session")
def spoken_audio(spoken) -> dict[str, np.ndarray]:
    return {k: load_speech(p) for k, p in spoken.items()}


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m app ARGS`` as a user would run it, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
