"""Property fuzz of every HTTP surface of a real node and light client (catalogue §B.3.2 A3/A4/A7).

For every JSON-RPC method (and unknown ones), the peer-to-peer endpoints and the light client's
GET endpoints, Hypothesis builds random input — JSON edge values (``2**64``, ``2**256``,
negatives, floats, ``"0x"``, odd-length and uppercase hex, huge strings and lists, nested
objects) and mutations of real blocks, transactions, scripts and out points — and checks that:

* the answer is never a 5xx, nor a JSON-RPC internal error (-32603: a 500 in disguise);
* the body is JSON: a JSON-RPC ``result`` or an ``error`` with an int code and a message, or for
  the REST endpoints ``{"error": {"code", "message"}}`` on 4xx; never a stack trace;
* the node stays healthy and its tip does not move.

Examples are derandomized (reproducible); a failure prints the shrunk input.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l1.ckb.json import block_from_json, transaction_to_json
from l1.ckb.types import Script
from l1.client import L1Client, build_transfer
from l1.devnet_keys import DEVNET_KEYS
from tests.support.procs import TEST_SPEC, Proc, free_port, l1_node, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CKB = 100_000_000
INTERNAL_ERROR = -32603

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # unchanged_tip wraps the whole test on purpose
    ],
)

#: Every JSON-RPC method of the node with its parameter names (l1/node/rpc.py).
METHODS: dict[str, list[str]] = {
    "get_tip_header": [],
    "get_tip_block_number": [],
    "get_block_by_number": ["block_number", "verbosity", "with_cycles"],
    "get_block": ["block_hash", "verbosity", "with_cycles"],
    "get_header": ["block_hash", "verbosity"],
    "get_header_by_number": ["block_number", "verbosity"],
    "get_block_hash": ["block_number"],
    "get_transaction": ["tx_hash", "verbosity", "only_committed"],
    "send_transaction": ["transaction", "outputs_validator"],
    "get_live_cell": ["out_point", "with_data", "include_tx_pool"],
    "get_cells": ["search_key", "order", "limit", "after_cursor"],
    "get_cells_capacity": ["search_key"],
    "get_consensus": [],
    "get_current_epoch": [],
    "get_blockchain_info": [],
    "local_node_info": [],
    "get_peers": [],
    "add_node": ["peer_id", "address"],
    "remove_node": ["peer_id"],
    "set_network_active": ["state"],
    "tx_pool_info": [],
    "get_raw_tx_pool": [],
    "get_system_scripts": [],
    "compute_script_hash": ["script"],
    "send_blob_transaction": ["transaction", "sidecars"],
    "get_blob": ["versioned_hash"],
    "get_blob_sidecars": ["block_hash"],
    "get_blob_cells": ["versioned_hash", "indices"],
    "get_block_blob_transactions": ["block_hash"],
    "generate_block": [],  # dev RPC: fuzzed only with params it must refuse (it would mine)
}

UNKNOWN_METHODS = [
    "",
    " ",
    "GET_TIP_HEADER",
    "get_tip_header ",
    "get_tip_header\x00",
    "compute_script_hash_rpc",  # the internal name of compute_script_hash
    "__init__",
    "__class__",
    "rpc.discover",
    "truncate",
    "get_tip_header/../get_peers",
    "x" * 10_000,
]

SPECIAL_INTS = [
    0,
    1,
    -1,
    2**31,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    2**256,
    -(2**63),
    -(2**64),
    -(2**256),
]

EDGE_STRINGS = [
    "",
    "0x",
    "0X",
    "0x0",
    "0x00",
    "0x01",
    "0x1",
    "0xf",
    "0xF",
    "0xabc",
    "0xABCDEF",
    "0xAbCd",
    "0x-1",
    "-0x1",
    "0x 1",
    " 0x1",
    "0x1 ",
    "0xg",
    "0x0x1",
    "0x" + "0" * 16,
    "0x" + "f" * 16,
    "0x10000000000000000",
    "0x" + "00" * 20,
    "0x" + "00" * 32,
    "0x" + "ff" * 32,
    "0x" + "AB" * 32,
    "0x" + "0" * 63,
    "0x" + "0" * 65,
    "0x" + "00" * 33,
    "0x" + "00" * 48,
    "ab" * 32,
    "0x\u0661",
    "0x\uff11",
    "\x00",
    "\ud800",
    "NaN",
    "Infinity",
    "1e400",
    "type",
    "data",
    "data1",
    "data2",
    "code",
    "dep_group",
    "lock",
    "asc",
    "desc",
    "exact",
    "prefix",
    "passthrough",
    "well_known_scripts_only",
    "http://",
    "http:///",
    "https://127.0.0.1:1/",
    "http://127.0.0.1:1/\x00",
    "0x" + "00" * 100_000,
    "a" * 200_000,
]


def _huge(kind: int) -> Any:
    """Built fresh for each draw: mutations edit values in place."""
    if kind == 0:
        return [0] * 10_000
    if kind == 1:
        return ["0x"] * 5_000
    if kind == 2:
        return [[] for _ in range(2_000)]
    return {str(i): i for i in range(5_000)}


HUGE = st.integers(0, 3).map(_huge)

FIELD_NAMES = [
    "version",
    "cell_deps",
    "header_deps",
    "inputs",
    "outputs",
    "outputs_data",
    "witnesses",
    "blob_versioned_hashes",
    "hash",
    "out_point",
    "dep_type",
    "since",
    "previous_output",
    "tx_hash",
    "index",
    "capacity",
    "lock",
    "type",
    "code_hash",
    "hash_type",
    "args",
    "script",
    "script_type",
    "script_search_mode",
    "filter",
    "with_data",
    "group_by_transaction",
    "blob",
    "commitment",
    "proof",
    "versioned_hash",
    "block",
    "transaction",
    "sidecars",
    "from",
    "locator",
    "limit",
]

#: Text without lone surrogates (those make the whole request invalid JSON; EDGE_STRINGS has one).
SAFE_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)
PATH_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/"),
    min_size=1,
    max_size=100,
).filter(lambda t: t not in (".", ".."))

LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(SPECIAL_INTS),
    st.floats(allow_nan=False, allow_infinity=False),
    SAFE_TEXT,
    st.sampled_from(EDGE_STRINGS),
    st.binary(max_size=40).map(lambda b: "0x" + b.hex()),
    st.binary(max_size=40).map(lambda b: "0x" + b.hex().upper()),
)

KEYS = st.one_of(st.sampled_from(FIELD_NAMES), SAFE_TEXT)

JSON = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=12,
)
#: Top-level values: JSON, now and then a huge list or object (too slow to offer in every leaf).
VALUES = st.one_of(JSON, HUGE)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:50]):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> Any:
    """A real JSON value with one to three random edits: replace, delete or add a member."""
    value = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(value))))
        replacement = draw(JSON)
        if not path:
            value = replacement
            continue
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        operation = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "add" and isinstance(parent, dict):
            parent[draw(KEYS)] = replacement
        elif operation == "add":
            parent.insert(path[-1], replacement)
        else:
            parent[path[-1]] = replacement
    return value


def param_value(templates: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    template = templates.get(name)
    if template is None:
        return VALUES
    return st.one_of(VALUES, st.just(template), mutated(template))


@st.composite
def rpc_params(draw: st.DrawFn, templates: dict[str, Any], names: list[str]) -> Any:
    shape = draw(st.sampled_from(["positional", "positional", "named", "other"]))
    if shape == "positional":
        count = draw(st.integers(0, len(names) + 1))
        return [
            draw(param_value(templates, names[i] if i < len(names) else "")) for i in range(count)
        ]
    if shape == "named":
        chosen = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
        named = {name: draw(param_value(templates, name)) for name in chosen}
        if draw(st.booleans()):
            named[draw(KEYS)] = draw(JSON)
        return named
    return draw(VALUES)


def encode(payload: Any) -> bytes:
    """Stdlib JSON: big ints are written as digits (orjson refuses them)."""
    return json.dumps(payload).encode()


# ============================================================================ fixtures
def assert_no_request_crash(proc: Proc) -> None:
    """No request handler died with an exception (logged by the app or by uvicorn).

    Background sync errors are not counted: peers added from fuzzed input may be bad URLs."""
    log = proc.log_path.read_text(errors="replace")
    for marker in ("internal error in", "Exception in ASGI application", "l1.light.app"):
        assert marker not in log, proc.log_tail(80)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    proc = l1_node(tmp_path_factory.mktemp("fuzz-node"))
    proc.start().wait_healthy()
    yield proc
    proc.stop()
    assert_no_request_crash(proc)


@pytest.fixture(scope="module")
def http(node: Proc) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30) as client:
        yield client


class Templates(dict[str, Any]):
    """Real values to mutate; a short repr keeps Hypothesis failure reports readable."""

    def __repr__(self) -> str:
        return f"Templates({sorted(self)})"


def _lock(code_hash: bytes, index: int) -> Script:
    return Script(code_hash, 1, DEVNET_KEYS[index].lock_args)


@pytest.fixture(scope="module")
def templates(node: Proc) -> Templates:
    """Real values to mutate: a few blocks, a committed and a pending transfer."""
    with L1Client(node.url) as client:
        code_hash, dep = client.get_system_script()

        def transfer(sender: int, recipient: int) -> Any:
            return build_transfer(
                client.get_live_cells(_lock(code_hash, sender)),
                DEVNET_KEYS[sender].private_key,
                code_hash,
                dep,
                _lock(code_hash, recipient),
                100 * CKB,
            )

        client.generate_block()
        committed = transfer(1, 2)
        committed_hash = client.send_transaction(committed)
        client.generate_block()
        client.generate_block()
        pending = transfer(3, 4)
        client.send_transaction(pending)
        unsent = transfer(5, 6)
        block_one = client.call("get_block_by_number", "0x1")
        script = {
            "code_hash": "0x" + code_hash.hex(),
            "hash_type": "type",
            "args": "0x" + DEVNET_KEYS[1].lock_args.hex(),
        }
        zero_point = "0x" + ("c0" + "00" * 47)
        return Templates(
            {
                "block_number": "0x1",
                "block_hash": block_one["header"]["hash"],
                "tx_hash": "0x" + committed_hash.hex(),
                "transaction": transaction_to_json(unsent, with_hash=False),
                "out_point": {"tx_hash": "0x" + committed_hash.hex(), "index": "0x0"},
                "search_key": {"script": script, "script_type": "lock"},
                "script": script,
                "order": "asc",
                "limit": "0x2",
                "after_cursor": "0x" + "00" * 8,
                "with_data": True,
                "verbosity": "0x2",
                "state": True,
                "indices": ["0x0", "0x1"],
                "versioned_hash": "0x01" + "00" * 31,
                "sidecars": [
                    {"blob": "0x" + "00" * 131_072, "commitment": zero_point, "proof": zero_point}
                ],
                # p2p
                "block_hex": block_from_json(block_one).serialize().hex(),
                "p2p_transaction": transaction_to_json(pending, with_hash=False),
                "locator": [block_one["header"]["hash"][2:]],
            }
        )


@pytest.fixture(scope="module")
def light(node: Proc, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    data_dir = tmp_path_factory.mktemp("fuzz-light")
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "l1",
        "light",
        "--peer",
        node.url,
        "--port",
        str(port),
        "--spec",
        str(TEST_SPEC),
        "--interval",
        "0.3",
        "--data-dir",
        str(data_dir),
        "--log-level",
        "warning",
    ]
    proc = Proc(args, Path(data_dir) / "light.log", f"http://127.0.0.1:{port}")
    proc.start().wait_healthy()
    yield proc
    proc.stop()
    assert_no_request_crash(proc)


@pytest.fixture(scope="module")
def light_http(light: Proc) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=light.url, timeout=30) as client:
        yield client


def tip(http: httpx.Client) -> tuple[int, str]:
    health = http.get("/healthz", timeout=10)
    assert health.status_code == 200
    body = health.json()
    return body["tip_number"], body["tip_hash"]


@pytest.fixture
def unchanged_tip(node: Proc, http: httpx.Client, templates: dict[str, Any]) -> Iterator[None]:
    """The node is healthy, active and at the same tip before and after the test."""
    http.post("/", content=encode(rpc("set_network_active", [True])))
    before = tip(http)
    yield
    assert node.process is not None and node.process.poll() is None, node.log_tail()
    assert tip(http) == before
    for peer in http.post("/", content=encode(rpc("get_peers", []))).json()["result"]:
        http.post("/", content=encode(rpc("remove_node", [peer["node_id"]])))
    http.post("/", content=encode(rpc("set_network_active", [True])))


# ============================================================================ checks
def rpc(method: Any, params: Any, id_: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def check_rpc_answer(response: httpx.Response, sent: Any) -> Any:
    where = f"{response.status_code} for {str(sent)[:500]!r}: {response.text[:500]!r}"
    assert response.status_code < 500, where
    assert "Traceback" not in response.text, where
    body = response.json()
    for item in body if isinstance(body, list) else [body]:
        assert isinstance(item, dict), where
        assert ("result" in item) != ("error" in item), where
        if "error" in item:
            error = item["error"]
            assert type(error["code"]) is int, where
            assert isinstance(error["message"], str) and error["message"], where
            assert error["code"] != INTERNAL_ERROR, where
    return body


def check_rest_answer(response: httpx.Response, sent: Any, *, json_body: bool = True) -> None:
    where = f"{response.status_code} for {str(sent)[:500]!r}: {response.text[:500]!r}"
    assert response.status_code < 500, where
    assert "Traceback" not in response.text, where
    if response.status_code >= 400 or json_body:
        body = response.json()
        if response.status_code >= 400:
            error = body["error"]
            assert isinstance(error["code"], (str, int)) and error["code"], where
            assert isinstance(error["message"], str) and error["message"], where


# ============================================================================ JSON-RPC
def test_every_known_method_exists(http: httpx.Client, unchanged_tip: None) -> None:
    for name in METHODS:
        if name == "generate_block":
            continue
        body = check_rpc_answer(http.post("/", content=encode(rpc(name, None))), name)
        assert body.get("error", {}).get("code") != -32601, name
    body = http.post("/", content=encode(rpc("generate_block", [1]))).json()
    assert body["error"]["code"] == -32602  # exists (dev RPC), refuses the extra param


@pytest.mark.parametrize("method", sorted(m for m, names in METHODS.items() if names))
@FUZZ
@given(data=st.data())
def test_rpc_methods_fuzz(
    http: httpx.Client,
    templates: dict[str, Any],
    unchanged_tip: None,
    method: str,
    data: st.DataObject,
) -> None:
    params = data.draw(rpc_params(templates, METHODS[method]))
    payload = rpc(method, params, data.draw(st.one_of(st.integers(0, 2**53), SAFE_TEXT)))
    check_rpc_answer(http.post("/", content=encode(payload)), payload)
    if method in ("set_network_active", "add_node"):
        http.post("/", content=encode(rpc("set_network_active", [True])))


@FUZZ
@given(
    method=st.sampled_from(sorted(m for m, names in METHODS.items() if not names)), data=st.data()
)
def test_rpc_methods_without_params_fuzz(
    http: httpx.Client, unchanged_tip: None, method: str, data: st.DataObject
) -> None:
    """Methods that take no params only have the params check to get wrong: one test for all."""
    if method == "generate_block":  # only params it must refuse: anything else mines a block
        params = data.draw(
            st.one_of(
                st.lists(JSON, min_size=1, max_size=3),
                st.dictionaries(KEYS, JSON, min_size=1, max_size=3),
                LEAVES.filter(lambda v: v is not None and not isinstance(v, (list, dict))),
            )
        )
    else:
        params = data.draw(rpc_params({}, []))
    payload = rpc(method, params)
    check_rpc_answer(http.post("/", content=encode(payload)), payload)


@FUZZ
@given(
    envelope=st.dictionaries(
        st.sampled_from(["jsonrpc", "id", "method", "params"]) | KEYS,
        st.one_of(
            JSON,
            st.sampled_from(["2.0", "1.0", 2.0, 2]),
            st.sampled_from(UNKNOWN_METHODS),
            st.sampled_from(sorted(set(METHODS) - {"generate_block"})),
        ),
        max_size=6,
    ),
    batch=st.integers(0, 3),
)
def test_rpc_envelope_and_unknown_methods_fuzz(
    http: httpx.Client, unchanged_tip: None, envelope: dict[str, Any], batch: int
) -> None:
    if envelope.get("method") == "generate_block":
        envelope["method"] = "generate_block_"
    payload: Any = [envelope] * batch if batch else envelope
    check_rpc_answer(http.post("/", content=encode(payload)), payload)
    http.post("/", content=encode(rpc("set_network_active", [True])))


@FUZZ
@given(method=st.sampled_from(UNKNOWN_METHODS) | SAFE_TEXT, params=JSON)
def test_unknown_methods_fuzz(
    http: httpx.Client, unchanged_tip: None, method: str, params: Any
) -> None:
    if method in METHODS:
        return
    content = encode(rpc(method, params))
    body = check_rpc_answer(http.post("/", content=content), method)
    try:
        orjson.loads(content)
    except orjson.JSONDecodeError:  # a lone surrogate: not valid JSON for a strict parser
        assert body["error"]["code"] == -32700
    else:
        assert body["error"]["code"] == -32601


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=2_000),
        st.sampled_from(
            [b"", b"{", b"[", b"NaN", b"1e400", b"\xef\xbb\xbf{}", b"\x00", b"\xff\xfe\x00"]
        ),
        st.binary(max_size=200).map(lambda b: b'{"jsonrpc": "2.0", "method": "get_tip_header"' + b),
    ),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/octet-stream", "multipart/form-data"]
    ),
)
def test_raw_bytes_fuzz(
    http: httpx.Client, unchanged_tip: None, body: bytes, content_type: str
) -> None:
    response = http.post("/", content=body, headers={"content-type": content_type})
    answer = check_rpc_answer(response, body)
    # Random bytes are never a request: 4xx with an error, or a batch answered item by item.
    if response.status_code == 200:
        assert isinstance(answer, list) and all("error" in item for item in answer), answer
    else:
        assert 400 <= response.status_code < 500 and "error" in answer


# ============================================================================ p2p
@FUZZ
@given(data=st.data())
def test_p2p_block_fuzz(
    http: httpx.Client, templates: dict[str, Any], unchanged_tip: None, data: st.DataObject
) -> None:
    block_hex: str = templates["block_hex"]
    block = data.draw(
        st.one_of(
            VALUES,
            st.just(block_hex),
            # truncate, extend or flip a byte of a real block
            st.integers(0, len(block_hex) // 2).map(lambda n: block_hex[: 2 * n]),
            st.binary(min_size=1, max_size=64).map(lambda b: block_hex + b.hex()),
            st.tuples(st.integers(0, len(block_hex) // 2 - 1), st.integers(1, 255)).map(
                lambda t: (
                    block_hex[: 2 * t[0]]
                    + f"{int(block_hex[2 * t[0] : 2 * t[0] + 2], 16) ^ t[1]:02x}"
                    + block_hex[2 * t[0] + 2 :]
                )
            ),
            st.binary(max_size=400).map(bytes.hex),
        )
    )
    payload = data.draw(
        st.one_of(
            st.fixed_dictionaries(
                {"block": st.just(block)},
                optional={
                    "sidecars": param_value({"s": {"0x" + "00" * 32: templates["sidecars"]}}, "s"),
                    "from": st.sampled_from(EDGE_STRINGS) | JSON,
                },
            ),
            VALUES,
        )
    )
    response = http.post("/p2p/block", content=encode(payload))
    check_rest_answer(response, payload)


@FUZZ
@given(data=st.data())
def test_p2p_transaction_fuzz(
    http: httpx.Client, templates: dict[str, Any], unchanged_tip: None, data: st.DataObject
) -> None:
    payload = data.draw(
        st.one_of(
            st.fixed_dictionaries(
                {"transaction": param_value({"t": templates["p2p_transaction"]}, "t")},
                optional={
                    "sidecars": param_value(templates, "sidecars"),
                    "from": st.sampled_from(EDGE_STRINGS) | JSON,
                },
            ),
            VALUES,
        )
    )
    response = http.post("/p2p/transaction", content=encode(payload))
    check_rest_answer(response, payload)


@FUZZ
@given(data=st.data())
def test_p2p_locate_fuzz(
    http: httpx.Client, templates: dict[str, Any], unchanged_tip: None, data: st.DataObject
) -> None:
    payload = data.draw(
        st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "locator": param_value(templates, "locator"),
                    "limit": st.one_of(JSON, st.sampled_from(SPECIAL_INTS), st.integers()),
                },
            ),
            VALUES,
        )
    )
    response = http.post("/p2p/locate", content=encode(payload))
    check_rest_answer(response, payload)
    if response.status_code == 200:
        assert len(response.json()["blocks"]) <= 1_000


@FUZZ
@given(
    path=st.one_of(
        PATH_TEXT,
        st.sampled_from(EDGE_STRINGS[:-2]).filter(
            lambda t: t and "\ud800" not in t and "/" not in t
        ),
        st.binary(min_size=1, max_size=40).map(bytes.hex),
    )
)
def test_p2p_sidecars_fuzz(
    http: httpx.Client, templates: dict[str, Any], unchanged_tip: None, path: str
) -> None:
    response = http.get("/p2p/sidecars/" + quote(path, safe=""))
    check_rest_answer(response, path)


@FUZZ
@given(
    path=st.sampled_from(["/p2p/block", "/p2p/transaction", "/p2p/locate"]),
    body=st.one_of(st.binary(max_size=2_000), st.sampled_from([b"", b"{", b"NaN", b"\xff"])),
)
def test_p2p_raw_bytes_fuzz(
    http: httpx.Client, unchanged_tip: None, path: str, body: bytes
) -> None:
    response = http.post(path, content=body)
    check_rest_answer(response, body)
    assert response.status_code != 200 or body.strip().startswith(b"{")


# ============================================================================ light client
QUERY_VALUES = st.one_of(
    PATH_TEXT,
    st.sampled_from([str(v) for v in SPECIAL_INTS] + EDGE_STRINGS[:-2]).filter(
        lambda t: t and "\ud800" not in t
    ),
    st.integers().map(str),
)


@FUZZ
@given(
    endpoint=st.sampled_from(
        ["/healthz", "/v1/head", "/v1/peers", "/v1/blocks", "/metrics", "/v1/blocks/{}", "/v1/{}"]
    ),
    ref=QUERY_VALUES,
    query=st.dictionaries(st.sampled_from(["from", "limit"]) | PATH_TEXT, QUERY_VALUES, max_size=3),
)
def test_light_client_get_fuzz(
    light_http: httpx.Client,
    unchanged_tip: None,
    endpoint: str,
    ref: str,
    query: dict[str, str],
) -> None:
    url = endpoint.format(quote(ref, safe=""))
    response = light_http.get(url, params=query)
    check_rest_answer(response, (url, query), json_body=endpoint != "/metrics")


def test_light_client_still_follows(light: Proc, node: Proc) -> None:
    head = wait_until(
        lambda: httpx.get(light.url + "/v1/head", timeout=10).json(), 30, 0.2, "light head"
    )
    assert head["number"] >= 0
    assert httpx.get(light.url + "/healthz", timeout=10).status_code == 200
