"""Chat LLM engines: in-process llama.cpp (GGUF) and any OpenAI-compatible server.

Both stream text deltas.  The in-process engine must always be called from the
same thread (the LLM worker's): llama.cpp's OpenMP pool decodes much slower when
called from a fresh thread each turn.  llama-cpp-python reuses the longest common
token prefix of the previous prompt, so a fixed system prompt and an append-only
conversation keep their KV cache across turns.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from app.engines.capabilities import NONE, Capability

log = logging.getLogger(__name__)

PREFILL_BATCH = 32  # ~90 ms on two cores: the longest a turn arriving mid-prefill waits

Message = dict[str, str]


class LlmError(RuntimeError):
    pass


class LlmEngine(Protocol):
    capabilities: ClassVar[frozenset[Capability]] = NONE  # see app.engines.capabilities
    n_ctx: int
    name: str

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.6,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


class LlamaCppLlm:
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WARM_UP, Capability.PREFILL})

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 2048,
        threads: int = 2,
        batch_threads: int | None = None,
        seed: int = -1,
    ) -> None:
        import llama_cpp
        from llama_cpp import Llama

        self.name = model_path.name
        self.n_ctx = n_ctx
        self.tokens_generated = 0
        self.decode_seconds = 0.0
        self._formatter: Any = None
        self.llm = Llama(
            model_path=str(model_path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=batch_threads or threads,
            n_batch=256,
            seed=llama_cpp.LLAMA_DEFAULT_SEED if seed < 0 else seed,
            verbose=False,
        )

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _chat_formatter(self) -> Any:
        """The model's own chat template, without the assistant's generation prompt (None if the
        model has none)."""
        if self._formatter is None:
            if self.llm.chat_format != "chat_template.default":
                return None
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            def text(token: int) -> str:
                return (
                    "" if token < 0 else self.llm.detokenize([token], special=True).decode("utf-8", "replace")
                )

            self._formatter = Jinja2ChatFormatter(
                template=self.llm.metadata["tokenizer.chat_template"],
                eos_token=text(self.llm.token_eos()),
                bos_token=text(self.llm.token_bos()),
                add_generation_prompt=False,
            )
        return self._formatter

    def _history_tokens(self, messages: list[Message], user_prefix: str | None = None) -> list[int] | None:
        """The chat prompt of ``messages`` without the assistant's generation prompt: exactly the
        tokens the next turn's prompt starts with (None if the model has no chat template).
        With ``user_prefix``, the opening of the user's next message follows: the template's
        markers and then ``user_prefix``, the first words the user has said so far."""
        formatter = self._chat_formatter()
        if formatter is None:
            return None
        result = formatter(messages=messages)
        prompt = result.prompt
        if user_prefix is not None:
            marker = "\u2063hearken\u2063"  # where the template puts the next message's text
            opened = formatter(messages=[*messages, {"role": "user", "content": marker}]).prompt
            cut = opened.find(marker)
            if cut < len(prompt) or opened[: len(prompt)] != prompt:
                return None  # a template that rewrites earlier messages: no safe prefix
            prompt = opened[:cut] + user_prefix
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=not result.added_special, special=True)

    def prefill(
        self,
        messages: list[Message],
        should_stop: Callable[[], bool] = lambda: False,
        user_prefix: str | None = None,
    ) -> int:
        """Evaluate the conversation so far into the KV cache while the LLM is idle.

        The next turn's prompt is this one plus the user's new words, and llama-cpp-python
        reuses the longest cached token prefix, so only the new words are left to evaluate on
        the answer's critical path.  This matters most after the history window moved (the
        oldest exchanges dropped): the whole kept history, ~500 tokens, costs ~1.3 s on two
        cores.  With ``user_prefix`` (``""`` included) the opening of the user's next message
        is evaluated too: the chat template's markers and the words heard so far, while the
        user is still speaking.  Evaluated in small batches; stops between two when
        ``should_stop()`` (a turn arrived).  Returns how many tokens were evaluated.
        """
        tokens = self._history_tokens(messages, user_prefix)
        if not tokens or len(tokens) >= self.n_ctx - 8:
            return 0
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens]
        common = min(len(cached), len(tokens))
        diff = np.flatnonzero(cached[:common] != np.asarray(tokens[:common], dtype=cached.dtype))
        n = int(diff[0]) if diff.size else common
        if n >= len(tokens):
            return 0
        llm.n_tokens = n  # eval() first drops the cached positions from n on
        done = 0
        for i in range(n, len(tokens), PREFILL_BATCH):
            if should_stop():
                break
            part = tokens[i : i + PREFILL_BATCH]
            llm.eval(part)
            done += len(part)
        return done

    def warm_up(self, system_prompt: str) -> None:
        """Evaluate the system prompt once so its KV cache is ready for the first turn."""
        for _ in self.stream_chat(
            [{"role": "system", "content": system_prompt}, {"role": "user", "content": "Hi"}], max_tokens=1
        ):
            pass

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.6,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        stream = self.llm.create_chat_completion(
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=0.9,
            repeat_penalty=1.1,
            stream=True,
        )
        t0 = time.perf_counter()
        n = 0
        try:
            for chunk in stream:
                if should_stop():
                    break
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    n += 1
                    yield delta
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
            self.tokens_generated += n
            self.decode_seconds += time.perf_counter() - t0


class OpenAiCompatLlm:
    """Streams from an OpenAI-compatible ``/v1/chat/completions`` (llama.cpp server, vLLM, Ollama)."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WARM_UP})

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "default",
        api_key: str | None = None,
        n_ctx: int = 4096,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model
        self.api_key = api_key
        self.n_ctx = n_ctx
        self.timeout = timeout
        self.name = f"{model} @ {self.base_url}"

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4 + 1)  # the server tokenizes; a safe estimate for trimming

    def _request(self, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read(300).decode("utf-8", "replace")
            raise LlmError(f"LLM server {self.base_url} answered {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise LlmError(f"LLM server {self.base_url} cannot be reached: {exc}") from exc

    def check(self) -> None:
        """Fail early with a clear message when the server is not there."""
        with self._request("/models") as resp:
            resp.read()

    def warm_up(self, system_prompt: str) -> None:
        for _ in self.stream_chat(
            [{"role": "system", "content": system_prompt}, {"role": "user", "content": "Hi"}], max_tokens=1
        ):
            pass

    def stream_chat(
        self,
        messages: list[Message],
        *,
        max_tokens: int,
        temperature: float = 0.6,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            "cache_prompt": True,  # llama.cpp server: keep the prefix in the KV cache
        }
        with self._request("/chat/completions", body) as resp:
            for raw in resp:
                if should_stop():
                    break
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = json.loads(payload)
                except json.JSONDecodeError:
                    continue
                choices = chunk.get("choices") or [{}]
                delta = (choices[0].get("delta") or {}).get("content")
                if delta:
                    yield delta
