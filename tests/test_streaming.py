"""--stream with real clients on loopback: a websockets client gets the header and frames that are exactly the
JSONL lines; a stalled client does not hold up the tracker or the others; a client sending data is closed and
the stream goes on; the client limit; the page over plain HTTP; OSC bundles received by a python-osc server;
the command line (headless and GUI) with its errors; the page in a real headless Chromium."""
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message_builder import BuildError
from pythonosc.osc_server import BlockingOSCUDPServer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from app.config import TrackerConfig
from app.errors import InputError
from app.joints import JOINT_NAMES
from app.types import TrackingStatus
from app.runtime.pipeline import Pipeline
from app.recording.format import jsonable
from app.runtime.records import JsonlWriter, _plain_json, result_record, run_header, to_json_line
from app.streaming import open_streams, reach_warning
from app.streaming.osc import osc_bundle, osc_messages, python_osc_bundle
from app.streaming.targets import DEFAULT_MAX_CLIENTS, is_loopback, parse_stream_url
from app.streaming.websocket import page_html
from app.tracking.tracker import HandTracker
from tests.browser import Browser, find_chromium
from tests.cli_runs import ENV, REPO, run_tracker
from tests.polling import wait_until
from tests.tracking_scenes import ListSource

STATUSES = {"tracking", "low_confidence", "at_border", "no_hand", "too_near", "too_far"}


@pytest.fixture(scope="module")
def depths(moving_hand):
    return moving_hand[0]      # six frames of a moving hand, then one without a hand


def make_pipeline(estimator, depths, repeats=1, live=False, fps=30.0, name="fabricated"):
    source = ListSource(depths * repeats, live=live, fps=fps, name=name)
    return Pipeline(source, HandTracker(TrackerConfig(model_path=estimator.model_path), estimator))


@pytest.fixture
def ws_stream():
    streams = open_streams(["ws://127.0.0.1:0"], log=lambda line: None)
    yield streams
    streams.close()


def ws_url(streams):
    return streams.streams[0].url


def recv_json(ws, timeout=10.0):
    return json.loads(ws.recv(timeout))


def stalled_client(port: int) -> socket.socket:
    """A client that completes the WebSocket handshake and then never reads again (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    sock.settimeout(5)
    assert sock.recv(12) == b"HTTP/1.1 101"
    return sock


# ---- URLs ---------------------------------------------------------------------------------------------------
def test_stream_urls_are_parsed_with_loopback_defaults():
    t = parse_stream_url("ws://:8765")
    assert (t.scheme, t.host, t.port, t.is_loopback) == ("ws", "127.0.0.1", 8765, True)
    assert parse_stream_url("osc://localhost:9001").is_loopback
    assert parse_stream_url("ws://127.0.0.1").port == 8765 and parse_stream_url("osc://127.0.0.1").port == 9000
    assert parse_stream_url("WS://[::1]:7000").host == "::1" and parse_stream_url("ws://[::1]:7000").is_loopback
    assert not parse_stream_url("ws://0.0.0.0:8765").is_loopback       # every interface: parsed, not bound here
    assert not is_loopback("192.168.1.20")
    for bad, why in (("http://127.0.0.1:80", "scheme 'http'"), ("127.0.0.1:80", "no scheme"),
                     ("ws://127.0.0.1:70000", "out of range"), ("ws://127.0.0.1:8765/path", "no path"),
                     ("osc://127.0.0.1:0", "receiver's port"), ("ws://127.0.0.1:", "empty port"),
                     ("ws://user@127.0.0.1:1", "no path, query or user")):
        with pytest.raises(InputError, match=why):
            parse_stream_url(bad)
    assert DEFAULT_MAX_CLIENTS == 16
    assert reach_warning(parse_stream_url("ws://:8765")) is None
    line = reach_warning(parse_stream_url("ws://0.0.0.0:8765"))     # only the message: nothing is bound
    assert line.startswith("warning: ") and "\n" not in line and "0.0.0.0" in line


# ---- WebSocket ----------------------------------------------------------------------------------------------
def test_websocket_client_gets_header_then_frames_identical_to_the_jsonl_lines(estimator, depths, ws_stream,
                                                                                 tmp_path):
    pipeline = make_pipeline(estimator, depths, repeats=3)     # 21 frames, every one processed (lockstep)
    out = tmp_path / "run.jsonl"
    writer = JsonlWriter(str(out), run_header(pipeline.tracker, pipeline.source.info))
    pipeline.add_consumer(writer)
    with connect(ws_url(ws_stream), compression=None) as ws:
        ws_stream.attach(pipeline)
        header_text = ws.recv(10)
        pipeline.start()
        messages = []
        while not messages or json.loads(messages[-1])["frame"] < 20:
            messages.append(ws.recv(10))
    assert pipeline.wait_finished(30)
    pipeline.stop()
    writer.close()
    lines = out.read_text().splitlines()
    header = json.loads(header_text)
    assert header_text == lines[0] and header["header"] is True
    assert header["joint_names"] == list(JOINT_NAMES) and header["provider"] == "CPUExecutionProvider"
    assert header["source"]["name"] == "fabricated" and header["units"]["xyz"] == "mm"
    by_frame = {json.loads(line)["frame"]: line for line in lines[1:]}
    frames = [json.loads(m) for m in messages]
    assert [f["frame"] for f in frames] == sorted({f["frame"] for f in frames})   # in order, no repeats
    for text, record in zip(messages, frames):
        assert text == by_frame[record["frame"]]          # the JSONL schema, to the byte
        assert record["status"] in STATUSES and record["hand"] == "right"
        assert set(record) >= {"frame", "frame_number", "timestamp_ms", "joint_names", "joints_xyz_mm",
                               "joints_xyz_raw_mm", "joints_uv_px", "confidence", "overall_confidence",
                               "centre_uvz", "timings_ms"}
    posed = [f for f in frames if f["joints_xyz_mm"] is not None]
    assert posed and np.asarray(posed[0]["joints_xyz_mm"]).shape == (21, 3)
    assert any(f["status"] == "no_hand" and f["joints_xyz_mm"] is None for f in frames)


def test_a_stalled_client_holds_up_neither_the_tracker_nor_the_other_clients(estimator, depths, ws_stream):
    stream = ws_stream.streams[0]
    stalled = stalled_client(stream.port)
    pipeline = make_pipeline(estimator, depths, repeats=60)   # 420 frames: far more than the stalled one can hold
    processed = []
    pipeline.add_consumer(lambda r: processed.append(r.frame.index))
    try:
        with connect(stream.url, compression=None) as a, connect(stream.url, compression=None) as b:
            ws_stream.attach(pipeline)
            assert recv_json(a)["header"] and recv_json(b)["header"]
            last = {}

            def read(name, ws):
                frame = -1
                while frame < 419:
                    frame = recv_json(ws)["frame"]
                last[name] = frame
            readers = [threading.Thread(target=read, args=item) for item in (("a", a), ("b", b))]
            for reader in readers:
                reader.start()
            pipeline.start()
            for reader in readers:
                reader.join(60)
            assert pipeline.wait_finished(60)
            stats = stream.stats()
    finally:
        pipeline.stop()
        stalled.close()
    assert processed == list(range(420))                     # every frame tracked, none waited for a client
    assert last == {"a": 419, "b": 419}                      # both readers got the newest frame
    sent = sorted(c["frames_sent"] for c in stats["per_client"])
    assert len(sent) == 3 and sent[0] < 100 < sent[1]           # the stalled one stopped being fed...
    stalled_row = min(stats["per_client"], key=lambda c: c["frames_sent"])
    assert stalled_row["frames_behind"] > 200                # ...and was left behind, not queued for


def test_a_client_sending_data_is_closed_and_the_stream_goes_on(estimator, depths, ws_stream):
    stream = ws_stream.streams[0]
    pipeline = make_pipeline(estimator, depths, live=True, fps=60)
    with connect(stream.url, compression=None) as good:
        ws_stream.attach(pipeline)
        assert recv_json(good)["header"]
        pipeline.start()
        try:
            first = recv_json(good)["frame"]
            with connect(stream.url, compression=None) as chatty:       # a small text message
                chatty.send("hello")
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        chatty.recv(5)
                assert closed.value.rcvd.code == 1008
            with connect(stream.url, compression=None, max_size=None) as big:   # over the limit: refused unread
                big.send(b"\x00" * 10_000)
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        big.recv(5)
                assert closed.value.rcvd.code == 1009
            garbage = socket.create_connection(("127.0.0.1", stream.port), timeout=5)   # not even HTTP
            garbage.sendall(os.urandom(3000) + b"\r\n\r\n")
            assert garbage.recv(4096) is not None
            garbage.close()
            later = [recv_json(good)["frame"] for _ in range(5)]
        finally:
            pipeline.stop()
    assert later[0] > first and later == sorted(later)         # the good client never stopped receiving
    assert stream.stats()["clients"] == 0 or wait_until(lambda: stream.stats()["clients"] == 0)


def test_clients_beyond_the_limit_are_refused(estimator, depths):
    streams = open_streams(["ws://127.0.0.1:0"], max_clients=2, log=lambda line: None)
    url = ws_url(streams)
    try:
        with connect(url) as a, connect(url) as b:
            with pytest.raises(InvalidStatus) as refused:
                connect(url)
            assert refused.value.response.status_code == 503
            a.close()
            assert wait_until(lambda: streams.stats()[0]["clients"] == 1)
            with connect(url) as c:   # a place came free
                assert c.protocol.state.name == "OPEN" and b.protocol.state.name == "OPEN"
    finally:
        streams.close()


def test_the_page_is_served_over_plain_http_and_is_self_contained(ws_stream):
    base = "http" + ws_url(ws_stream)[2:]
    with urllib.request.urlopen(base + "/", timeout=10) as reply:
        body = reply.read()
        assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    assert body == page_html()
    text = body.decode()
    assert "<script src" not in text and "http://" not in text and "https://" not in text and "@import" not in text
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(base + "/other", timeout=10)
    assert missing.value.code == 404


def test_a_new_run_sends_its_header_before_its_frames(estimator, depths, ws_stream):
    with connect(ws_url(ws_stream), compression=None) as ws:
        for name in ("first", "second"):               # the GUI starting a pipeline, then another one
            pipeline = make_pipeline(estimator, depths, name=name)
            ws_stream.attach(pipeline)
            header = recv_json(ws)
            assert header["header"] and header["source"]["name"] == name
            pipeline.start()
            frame = recv_json(ws)
            assert "header" not in frame and frame["frame"] >= 0
            assert pipeline.wait_finished(30)
            pipeline.stop()
            time.sleep(0.2)
            while True:   # drain what is left of this run
                try:
                    assert "header" not in json.loads(ws.recv(0.3))
                except TimeoutError:
                    break


def test_the_stream_process_yields_builds_nothing_without_clients_and_outlives_no_tracker(estimator, depths):
    streams = open_streams(["ws://127.0.0.1:0"], log=lambda line: None)
    child = streams.process.pid
    try:
        assert os.sched_getscheduler(child) == os.SCHED_IDLE      # it runs only on a core nobody else wants
        pipeline = make_pipeline(estimator, depths)
        streams.attach(pipeline)
        pipeline.start()
        assert pipeline.wait_finished(30)
        pipeline.stop()
        assert streams.results == 0     # nobody connected: no record was built, nothing crossed to the process
        with connect(ws_url(streams), compression=None) as ws:
            assert recv_json(ws)["header"]                 # the last run's header, on connect
            assert wait_until(lambda: streams._demand[0] == 1)
            pipeline = make_pipeline(estimator, depths)
            streams.attach(pipeline)
            assert recv_json(ws)["header"]                 # this run's
            pipeline.start()
            assert "frame" in recv_json(ws)
            assert pipeline.wait_finished(30)
            pipeline.stop()
        assert streams.results >= 1
    finally:
        streams.close()
    assert streams.process.returncode == 0


def test_the_stream_process_ends_with_the_tracker_s_process_even_killed():
    script = ("import os, sys, time; from app.streaming import open_streams; "
              "s = open_streams(['ws://127.0.0.1:0'], log=lambda line: None); "
              "print(s.process.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        parent.kill()                                   # no close(), no atexit: the channel's end alone
        parent.wait(10)
        assert wait_until(lambda: not _alive(child), 10)
    finally:
        parent.kill()


def test_tracking_goes_on_with_one_warning_when_the_stream_process_dies(estimator, depths):
    lines = []
    streams = open_streams(["ws://127.0.0.1:0"], log=lines.append)
    try:
        with connect(ws_url(streams), compression=None):
            assert wait_until(lambda: streams._demand[0] == 1)
            streams.process.kill()
            streams.process.wait(10)
            pipeline = make_pipeline(estimator, depths, repeats=2)
            pipeline.add_consumer(streams)
            pipeline.start()
            assert pipeline.wait_finished(30)
            pipeline.stop()
            assert pipeline.stats().frames_processed == 2 * len(depths)
    finally:
        streams.close()
    warnings = [line for line in lines if line.startswith("warning:")]
    assert len(warnings) == 1 and "stream process has ended" in warnings[0]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ---- OSC ----------------------------------------------------------------------------------------------------
def test_osc_bundles_reach_a_python_osc_server(estimator, depths, tmp_path):
    received = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: received.append((address, args)))
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    port = server.server_address[1]
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    streams = open_streams([f"osc://127.0.0.1:{port}"], log=lambda line: None)
    pipeline = make_pipeline(estimator, depths, live=True, fps=20)   # slow enough to send every frame
    out = tmp_path / "run.jsonl"
    pipeline.add_consumer(JsonlWriter(str(out), run_header(pipeline.tracker, pipeline.source.info)))
    try:
        streams.attach(pipeline)
        pipeline.start()
        assert wait_until(lambda: sum(a == "/hand/right/status" for a, _ in received) >= 7, 20)
    finally:
        pipeline.stop()
        streams.close()
        server.shutdown()
        server.server_close()
    records = [json.loads(line) for line in out.read_text().splitlines()[1:8]]
    frames = [args for address, args in received if address == "/hand/right/frame"]
    assert [f[0] for f in frames[:7]] == [r["frame"] for r in records]
    assert frames[0][2] == pytest.approx(records[0]["timestamp_ms"])
    statuses = [args[0] for address, args in received if address == "/hand/right/status"]
    assert statuses[:7] == [r["status"] for r in records]
    posed = next(r for r in records if r["joints_xyz_mm"] is not None)
    joints = {a.rsplit("/", 1)[1]: args for a, args in received
              if a.startswith("/hand/right/joint/")}
    assert set(joints) == set(JOINT_NAMES)
    confidences = [args for address, args in received if address == "/hand/right/joint_confidence"]
    assert confidences and len(confidences[0]) == 21
    assert any(a == "/hand/right/confidence" and 0 <= args[0] <= 1 for a, args in received)
    # the values are the record's (float32 on the wire): compare one frame's wrist exactly as sent
    bundle = OscBundle(osc_bundle(posed))
    sent = {m.address: m.params for m in bundle}
    assert bundle.num_contents == len(osc_messages(posed))
    assert sent["/hand/right/joint/wrist"] == pytest.approx(posed["joints_xyz_mm"][0], abs=1e-3)
    assert sent["/hand/right/status"] == [posed["status"]]


def test_osc_messages_without_a_pose_carry_only_frame_status_and_latency():
    record = {"frame": 3, "frame_number": 7, "timestamp_ms": 1.5e12, "status": "no_hand", "hand": "left",
              "joint_names": list(JOINT_NAMES), "joints_xyz_mm": None, "confidence": None,
              "overall_confidence": None, "timings_ms": {"end_to_end": 4.5}}
    assert [a for a, _ in osc_messages(record)] == ["/hand/left/frame", "/hand/left/status", "/hand/left/latency_ms"]
    parsed = {m.address: m.params for m in OscBundle(osc_bundle(record))}
    assert parsed["/hand/left/frame"] == [3, 7, 1.5e12]      # the device clock survives (a double)


# ---- the per-frame encoders (same output as the general path / python-osc, only cheaper) ---------------------
@pytest.fixture(scope="module")
def results(estimator, depths):
    """Real results: the tracker on the fabricated frames (posed ones and the one without a hand)."""
    out = []
    pipeline = make_pipeline(estimator, depths)
    pipeline.add_consumer(out.append)
    pipeline.start()
    assert pipeline.wait_finished(60)
    pipeline.stop()
    return out


@pytest.fixture(scope="module")
def records(results):
    out = [result_record(r) for r in results]
    assert any(r["joints_xyz_mm"] is not None for r in out) and any(r["joints_xyz_mm"] is None for r in out)
    return out


def converted_json(obj) -> str:
    """The general path: convert everything with jsonable (NaN/inf -> null), then the standard encoder."""
    return json.dumps(jsonable(obj), separators=(",", ":"), allow_nan=False)


def damaged(record: dict) -> dict:
    """The record of a damaged model's output: NaN and infinities among the joints and confidences."""
    out = json.loads(json.dumps(record))
    out["joints_xyz_mm"][0] = [float("nan"), float("inf"), -float("inf")]
    out["confidence"][3] = float("nan")
    out["overall_confidence"] = float("nan")
    out["timings_ms"]["infer"] = float("inf")
    for hand in out["hands"]:
        hand["joints_xyz_mm"][0] = [float("nan"), float("inf"), -float("inf")]
        hand["confidence"][3] = float("nan")
        hand["overall_confidence"] = float("nan")
    return out


def two_hands(record: dict) -> dict:
    """The record with a second hand: the first one's mirror (x -> -x), a left hand with the next id."""
    out = json.loads(json.dumps(record))
    (right,) = out["hands"]
    left = dict(right, id=right["id"] + 1, hand="left", status="low_confidence",
                joints_xyz_mm=[[-x, y, z] for x, y, z in right["joints_xyz_mm"]])
    out["hands"] = [right, left]
    return out


def test_to_json_line_gives_the_converting_path_s_text_for_every_record(records):
    for record in records:
        assert _plain_json(record)   # result_record makes plain values only: the encoder's direct path
        assert to_json_line(record) == converted_json(record)
        assert json.loads(to_json_line(record)) == record   # plain values: nothing is lost or renamed
    bad = damaged(next(r for r in records if r["joints_xyz_mm"] is not None))
    text = to_json_line(bad)
    assert text == converted_json(bad)
    parsed = json.loads(text)
    assert parsed["joints_xyz_mm"][0] == [None, None, None] and parsed["confidence"][3] is None
    assert parsed["overall_confidence"] is None and parsed["timings_ms"]["infer"] is None
    assert "NaN" not in text and "Infinity" not in text and not _plain_json({"a": [np.float64(1.0)]})


def test_to_json_line_converts_what_the_encoder_would_write_differently():
    # numpy values, enums, tuples, keys that are not str: every one through jsonable, as before
    obj = {"a": np.float32(1.5), "b": np.int64(7), "c": np.array([1.0, np.nan]), "d": TrackingStatus.NO_HAND,
           "e": (1, 2.5, None), True: "bool key", None: "none key", 3: [np.bool_(True), {"x": np.float64(np.inf)}],
           "f": [[1.25, -0.0, 1e-7, 1e22]], "g": np.float64(0.1)}
    assert to_json_line(obj) == converted_json(obj)
    parsed = json.loads(to_json_line(obj))
    assert parsed["True"] == "bool key" and parsed["None"] == "none key" and parsed["d"] == "no_hand"
    assert parsed["c"] == [1.0, None] and parsed["3"] == [True, {"x": None}]
    assert to_json_line({"n": None, "s": "NaN", "i": 2**70, "l": []}) == '{"n":null,"s":"NaN","i":%d,"l":[]}' % 2**70


def test_osc_bundle_bytes_are_python_osc_s_for_every_layout(records):
    posed = next(r for r in records if r["joints_xyz_mm"] is not None)
    variants = list(records) + [damaged(posed), dict(posed, timestamp_ms=1.7e12, frame=2**31 - 1)]
    for hand in ("right", "left"):
        for status in TrackingStatus:
            variants.append(dict(posed, hand=hand, status=status.value))
            variants.append(dict(posed, hand=hand, status=status.value, joints_xyz_mm=None, confidence=None,
                                 overall_confidence=None, timings_ms={}, hands=[]))
    variants += [two_hands(posed), damaged(two_hands(posed)), {k: v for k, v in posed.items() if k != "hands"}]
    for record in variants:
        assert osc_bundle(record) == python_osc_bundle(record)
    for record in variants:   # again, now from the cached layouts
        assert osc_bundle(record) == python_osc_bundle(record)
    parsed = {m.address: m.params for m in OscBundle(osc_bundle(damaged(posed)))}
    assert np.isnan(parsed["/hand/right/confidence"][0]) and parsed["/hand/right/joint/wrist"][1] == float("inf")


def test_osc_sends_one_group_of_messages_per_hand(records):
    posed = next(r for r in records if r["joints_xyz_mm"] is not None)
    record = two_hands(posed)
    bundle = OscBundle(osc_bundle(record))
    sent = {m.address: m.params for m in bundle}
    right, left = record["hands"]
    assert sent["/hand/right/id"] == [right["id"]] and sent["/hand/left/id"] == [right["id"] + 1]
    assert sent["/hand/right/status"] == [right["status"]] and sent["/hand/left/status"] == ["low_confidence"]
    assert sent["/hand/left/frame"] == sent["/hand/right/frame"] == [posed["frame"], posed["frame_number"],
                                                                     pytest.approx(posed["timestamp_ms"])]
    assert sent["/hand/left/joint/index_tip"] == pytest.approx(left["joints_xyz_mm"][8], abs=1e-3)
    assert sent["/hand/right/joint/index_tip"] == pytest.approx(right["joints_xyz_mm"][8], abs=1e-3)
    assert bundle.num_contents == 2 * (3 + 1 + 1 + 21 + 1)
    v1 = {k: v for k, v in posed.items() if k != "hands"}          # a version-1 record: its one hand, no id
    assert {m.address for m in OscBundle(osc_bundle(v1))} == {a for a in sent if a.startswith("/hand/right/")} \
        - {"/hand/right/id"}


def test_osc_bundle_refuses_what_python_osc_refuses():
    record = {"frame": 2**31, "frame_number": 0, "timestamp_ms": 0.0, "status": "no_hand", "hand": "right",
              "joint_names": list(JOINT_NAMES), "joints_xyz_mm": None, "timings_ms": {"end_to_end": 1.0}}
    for build in (python_osc_bundle, osc_bundle):
        with pytest.raises(BuildError):
            build(record)


# ---- command line -------------------------------------------------------------------------------------------
def test_cli_stream_errors_are_one_line_and_exit_2():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        for args, why in (((f"ws://127.0.0.1:{port}",), "address already in use"),
                          (("tcp://127.0.0.1:5000",), "scheme 'tcp'"),
                          (("ws://127.0.0.1:notaport",), "--stream ws://127.0.0.1:notaport"),
                          (("ws://127.0.0.1:9555", "ws://127.0.0.1:9555"), "given twice")):
            stream_args = [x for url in args for x in ("--stream", url)]
            proc = run_tracker("--headless", "--source", "synthetic", "--max-frames", "2", *stream_args)
            lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
            assert proc.returncode == 2, proc.stderr
            assert len(lines) == 1 and why in lines[0] and "Traceback" not in proc.stderr
        proc = run_tracker("--headless", "--stream-max-clients", "0", "--stream", "ws://127.0.0.1:0")
        assert proc.returncode == 2 and "--stream-max-clients must be >= 1" in proc.stderr
    finally:
        busy.close()


def _stream_from_process(proc) -> str:
    for _ in range(20):
        line = proc.stderr.readline()
        if line.startswith("stream: ws://"):
            return line.split()[1]
        assert line, "the tracker ended before announcing its stream"
    raise AssertionError("no stream line")


@pytest.mark.parametrize("mode", ["headless", "gui"])
def test_cli_streams_frames_headless_and_from_the_gui(mode, estimator, tmp_path):
    args = [sys.executable, "run_tracker.py", "--source", "synthetic", "--model", estimator.model_path,
            "--stream", "ws://127.0.0.1:0", "--stream", "osc://127.0.0.1:9"]
    if mode == "headless":
        args += ["--headless", "--realtime", "--max-frames", "150"]
    else:   # a scripted window run: offscreen, a picture after N frames
        args += ["--max-frames", "150", "--screenshot", str(tmp_path / "window.png")]
    env = dict(ENV, QT_QPA_PLATFORM="offscreen") if mode == "gui" else ENV
    proc = subprocess.Popen(args, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = _stream_from_process(proc)
        with connect(url, compression=None, open_timeout=20) as ws:
            header = recv_json(ws, 60)
            frames = [recv_json(ws, 30) for _ in range(3)]
    finally:
        rc = proc.wait(90)
    assert rc == 0
    assert header["header"] and header["source"]["kind"] == "synthetic"
    assert all(f["status"] in STATUSES and "gt_xyz_mm" in f for f in frames)
    assert [f["frame"] for f in frames] == sorted(f["frame"] for f in frames)


# ---- the page in a real browser -----------------------------------------------------------------------------
@pytest.mark.skipif(find_chromium() is None,
                    reason="chromium is not installed (./setup.sh --dev installs it; CI runs this test)")
def test_the_page_in_headless_chromium_shows_frames_arriving_and_turns_with_the_mouse(estimator, depths,
                                                                                      ws_stream, tmp_path):
    stream = ws_stream.streams[0]
    pipeline = make_pipeline(estimator, depths, live=True, fps=30)
    ws_stream.attach(pipeline)
    pipeline.start()
    try:
        with Browser() as browser:
            page = browser.open(stream.page_url)
            assert page.wait_for("Number(document.getElementById('frames').textContent) >= 10")
            seen = int(page.text("frames"))
            assert page.text("conn") == "open" and page.text("status") in STATUSES and page.text("hand") == "right"
            assert page.wait_for(f"Number(document.getElementById('frames').textContent) > {seen + 5}")
            assert float(page.text("fps")) > 5 and float(page.text("latency")) > 0
            assert int(page.text("frame")) >= 10
            assert page.evaluate("view.yaw") == 0
            page.drag(640, 400, 760, 380)
            assert page.evaluate("view.yaw") > 0.5                 # dragging turned the view
            shot = page.screenshot(tmp_path / "page.png")
            assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 10_000
            origin = stream.page_url.rstrip("/")
            urls = page.requested_urls()
            assert urls and all(u.startswith((origin, "ws" + origin[4:])) for u in urls), urls
    finally:
        pipeline.stop()


def test_two_tracked_hands_reach_websocket_and_osc_clients_in_one_frame_each():
    from app.sources.synthetic import SyntheticSource
    from app.config import DEFAULT_MODEL_PATH
    from app.tracking.estimator import Estimator

    received = []
    dispatcher = Dispatcher()
    dispatcher.set_default_handler(lambda address, *args: received.append(address))
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    streams = open_streams(["ws://127.0.0.1:0", f"osc://127.0.0.1:{server.server_address[1]}"],
                           log=lambda line: None)
    estimator = Estimator(DEFAULT_MODEL_PATH, "cpu", 1)
    pipeline = Pipeline(SyntheticSource(seed=3, frame_count=90, realtime=False, hands=2),
                        HandTracker(TrackerConfig(model_path=DEFAULT_MODEL_PATH, max_hands=2), estimator))
    try:
        with connect(streams.streams[0].url, compression=None) as ws:
            streams.attach(pipeline)
            assert recv_json(ws)["config"]["max_hands"] == 2
            pipeline.start()
            two = None
            for _ in range(30):        # both hands, once each one's side is read (a few frames in)
                frame = recv_json(ws, 30)
                if sorted(h["hand"] for h in frame.get("hands", [])) == ["left", "right"]:
                    two = frame
                    break
            assert two is not None, "no frame with a left and a right hand reached the client"
            assert two["hands"][0]["id"] < two["hands"][1]["id"]                 # the primary hand first
            assert two["joints_xyz_mm"] == two["hands"][0]["joints_xyz_mm"]       # version-1 fields: the primary
            assert all(np.asarray(h["gt_xyz_mm"]).shape == (21, 3) for h in two["hands"])
            assert wait_until(lambda: {"/hand/left/joint/wrist", "/hand/right/joint/wrist"} <= set(received), 20)
    finally:
        pipeline.stop()
        streams.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("client_kind", ["raw", "websockets"])
def test_the_stream_benchmark_s_clients_receive_every_configuration_s_frames(capsys, client_kind):
    """The benchmark's figures are only as good as its clients: both kinds (the light raw-socket readers and
    the websockets-library ones) really receive the frames, with latencies measured on the tracker's clock, in a
    short run of every configuration (frames decoded in memory)."""
    from app.streaming import bench_stream

    assert bench_stream.main(["--frames", "15", "--rounds", "1", "--client-kind", client_kind]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["source"] == "memory" and out["client_kind"] == client_kind
    rows = out["median"]
    assert set(rows) == set(bench_stream.CONFIGS)
    assert all(rows[name]["frames"] == 15 for name in rows)
    for name in ("ws, 1 client", "ws, 16 clients + 1 stalled"):
        # (the stream process runs at idle priority: on a busy machine readers skip frames, by design)
        assert rows[name]["frames_received_per_reader"] >= 5, (name, rows[name])
        assert 0.0 < rows[name]["latency_ms_p50"] <= rows[name]["latency_ms_p99"] < 1000.0, (name, rows[name])
    assert 5 <= rows["osc"]["osc_bundles_sent"] <= 15
