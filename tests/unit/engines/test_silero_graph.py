"""The lean Silero graph: the protobuf reader/writer and what the rewrite keeps and drops."""

from __future__ import annotations

import numpy as np
import pytest

from app.engines import silero_graph as sg
from app.engines.vad import SileroVad, bundled_model


@pytest.fixture(scope="module")
def published() -> bytes:
    return bundled_model().read_bytes()


def _ops(model_bytes: bytes) -> list[str]:
    graph = sg.parse(sg._get(sg.parse(model_bytes), 7)[0])
    return [sg._get(sg.parse(n), 4)[0].decode() for n in sg._get(graph, 1)]


def test_the_wire_format_reads_and_writes_the_published_file_unchanged(published):
    assert sg.encode(sg.parse(published)) == published


def test_negative_and_packed_ints_survive_a_round_trip():
    t = sg.tensor("x", np.array([[-1, 2**40], [0, -(2**62)]], np.int64))
    back = sg.read_tensor(t)
    assert back.dtype == np.int64 and back.tolist() == [[-1, 2**40], [0, -(2**62)]]
    f = sg.read_tensor(sg.tensor("f", np.arange(6, dtype=np.float32).reshape(2, 3) / 7))
    assert np.array_equal(f, np.arange(6, dtype=np.float32).reshape(2, 3) / 7)


def test_the_lean_graph_has_no_if_and_the_16k_weights(published):
    lean = sg.lean_silero_16k(published)
    ops = _ops(lean)
    assert "If" not in ops and len(ops) == 25 and ops.count("LSTM") == 1 and ops.count("Conv") == 6
    assert "If" in _ops(published)
    w = sg.silero_16k_weights(published)
    graph = sg.parse(sg._get(sg.parse(lean), 7)[0])
    inits = {}
    for raw in sg._get(graph, 5):
        name = sg._get(sg.parse(raw), 8)[0].decode()
        inits[name] = sg.read_tensor(raw)
    assert np.array_equal(inits["basis"], w["stft.forward_basis_buffer"])
    assert np.array_equal(inits["enc0_w"], w["encoder.0.reparam_conv.weight"])
    # ONNX's gate order (i, o, f, c) from PyTorch's (i, f, g, o)
    ih = w["decoder.rnn.weight_ih"]
    assert np.array_equal(inits["W"][0, 128:256], ih[384:512]) and np.array_equal(
        inits["W"][0, 256:384], ih[128:256]
    )
    assert np.array_equal(inits["B"][0, :512][384:], w["decoder.rnn.bias_ih"][256:384])


def test_a_file_not_laid_out_like_silero_v5_is_refused_and_loaded_as_it_is(tmp_path):
    with pytest.raises(ValueError):
        sg.lean_silero_16k(sg.no_op_graph())
    path = tmp_path / "other.onnx"
    path.write_bytes(sg.no_op_graph())
    vad = SileroVad(path)
    assert vad.graph == "published"
    assert vad.prob(np.full(512, 0.25, np.float32)) == pytest.approx(0.0)  # the no-op's first output: context


def test_the_engine_runs_the_lean_graph_by_default_and_the_published_one_on_request():
    assert SileroVad().graph == "lean"
    assert SileroVad(lean=False).graph == "published"
