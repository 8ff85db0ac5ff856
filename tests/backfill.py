"""Real Prometheus data for tests: synthetic shop traffic, backfilled into TSDB blocks.

`openmetrics()` writes the counters the sample app exports (sample_app/observability/metrics.py)
as OpenMetrics text with timestamps; `backfilled_prometheus()` turns that text into blocks with
`promtool tsdb create-blocks-from openmetrics` and serves them from a real Prometheus that scrapes
nothing, so PromQL over any past range sees exactly the traffic a test wrote.

What promtool accepts (checked with Debian's 2.42): `# TYPE <family> counter` followed by
`<family>_total` samples, a histogram family as `_bucket`/`_count`/`_sum` samples, timestamps in
seconds, the samples of one series in time order, every family's samples together, and `# EOF`.

What Prometheus 2.42 needs: nothing special. Blocks placed in `--storage.tsdb.path` before start are
loaded at once, also ones reaching to now or into the future: nothing is scraped, so the head stays
empty and overlaps nothing (and since 2.39 overlapping blocks are allowed anyway; the old
`--storage.tsdb.allow-overlapping-blocks` is a hidden no-op). Retention counts back from the newest
block, so 30 days keeps data 8 days old. At a 15 s step, text plus blocks take ~0.1 s for 1 hour
and ~8 s for 8 days (330 MB of text, half of it promtool); Prometheus then answers in ~0.1 s.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from harness.runtime.local.binaries import find_binaries
from sample_app.observability.metrics import LATENCY_BUCKETS
from tests.waiting import wait_for

__all__ = ["FAST_SECONDS", "SLOW_SECONDS", "Traffic", "backfilled_prometheus", "openmetrics"]

FAST_SECONDS = 0.02  # the duration of every fast request (bucket le="0.025")
SLOW_SECONDS = 1.2  # the duration of every slow request (bucket le="1.5")
ROUTE, METHOD = "/products", "GET"
CODES = ("200", "500")  # both always written, so an error ratio of 0 reads 0, not "no data"
REQUESTS = "http_server_requests"
DURATION = "http_server_request_duration_seconds"
HOST = "127.0.0.1"
# promtool's longest block (a hidden flag in 2.42, rounded down to 2h·3^k). It re-reads the whole
# input once per block, so the default 2 h takes ~66 s for 8 days at 15 s; 162 h takes ~3 s.
MAX_BLOCK = "162h"
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Traffic:
    """A stretch of gateway traffic: `rps` requests per second, `error_ratio` of them 5xx,
    `slow_ratio` of them slower than 0.5 s (the rest fast), from `start` to `end` (unix seconds).

    Fast requests take FAST_SECONDS and slow ones SLOW_SECONDS; errors are as often slow as
    successes. Stretches of one service must not overlap; between them is a gap (no samples).
    """

    start: float
    end: float
    rps: float
    error_ratio: float = 0.0
    slow_ratio: float = 0.0
    service: str = "gateway"


@dataclass(frozen=True)
class _Point:
    """Cumulative requests of one series (service, code) at time `t`, and how many were slow."""

    t: float
    count: float
    slow: float


def openmetrics(traffic: Sequence[Traffic], step: float = 15.0) -> str:
    """OpenMetrics text of the shop's counters as the sample app exports them, one sample per `step`:
    http_server_requests_total{service,route,method,code} (code 200 and 500, route "/products",
    method GET) and http_server_request_duration_seconds_bucket{service,route,method,code,le} with the
    app's LATENCY_BUCKETS (le text as prometheus_client writes it: "0.5", "1.0", "+Inf"), plus
    _count and _sum, labelled job=<service> and replica=<service>-1 as the scrape adds. Cumulative
    counters that keep increasing across stretches; gaps have no samples.
    """
    series = _series(traffic, step)
    lines = [f"# TYPE {REQUESTS} counter"]
    for labels, points in series.items():
        lines += [f"{REQUESTS}_total{{{labels}}} {_num(p.count)} {_num(p.t)}" for p in points]
    lines.append(f"# TYPE {DURATION} histogram")
    for labels, points in series.items():
        for p in points:
            lines += _histogram_point(labels, p)
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _series(traffic: Sequence[Traffic], step: float) -> dict[str, list[_Point]]:
    """Points per label set (service × code), each list in time order."""
    services: dict[str, list[Traffic]] = {}
    for tr in sorted(traffic, key=lambda tr: tr.start):
        services.setdefault(tr.service, []).append(tr)
    return {
        _labels(service, code): _points(stretches, code, step)
        for service, stretches in sorted(services.items())
        for code in CODES
    }


def _points(stretches: list[Traffic], code: str, step: float) -> list[_Point]:
    points: list[_Point] = []
    count = slow = 0.0
    for tr in stretches:
        if points and tr.start < points[-1].t:
            raise ValueError(f"{tr.service}: traffic at {tr.start} overlaps the stretch before")
        share = tr.error_ratio if code == "500" else 1 - tr.error_ratio
        rate = tr.rps * share
        for t in _times(tr, step):
            if points and t <= points[-1].t:
                continue  # adjacent stretches share their boundary sample
            elapsed = t - tr.start
            points.append(_Point(t, count + rate * elapsed, slow + rate * tr.slow_ratio * elapsed))
        elapsed = tr.end - tr.start
        count, slow = count + rate * elapsed, slow + rate * tr.slow_ratio * elapsed
    return points


def _times(tr: Traffic, step: float) -> Iterator[float]:
    if step <= 0 or tr.end < tr.start:
        raise ValueError(f"need step > 0 and end >= start, got step {step} for {tr}")
    n = int((tr.end - tr.start) // step)
    return (tr.start + i * step for i in range(n + 1))


def _histogram_point(labels: str, p: _Point) -> list[str]:
    fast = p.count - p.slow
    lines = []
    for le in [*LATENCY_BUCKETS, float("inf")]:
        below = (fast if le >= FAST_SECONDS else 0.0) + (p.slow if le >= SLOW_SECONDS else 0.0)
        lines.append(f'{DURATION}_bucket{{{labels},le="{_le(le)}"}} {_num(below)} {_num(p.t)}')
    total = fast * FAST_SECONDS + p.slow * SLOW_SECONDS
    lines.append(f"{DURATION}_count{{{labels}}} {_num(p.count)} {_num(p.t)}")
    lines.append(f"{DURATION}_sum{{{labels}}} {_num(total)} {_num(p.t)}")
    return lines


def _labels(service: str, code: str) -> str:
    return (
        f'service="{service}",route="{ROUTE}",method="{METHOD}",code="{code}",'
        f'job="{service}",replica="{service}-1"'
    )


def _le(bound: float) -> str:
    """The `le` text prometheus_client writes: "0.5", "1.0", "+Inf"."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def _num(value: float) -> str:
    return repr(round(value, 6))


@contextmanager
def backfilled_prometheus(
    tmp: Path, traffic: Sequence[Traffic], step: float = 15.0
) -> Iterator[str]:
    """Create TSDB blocks with `promtool tsdb create-blocks-from openmetrics`, start a real
    Prometheus (harness.runtime.local.binaries) on a free loopback port with those blocks as its
    storage and a config that scrapes nothing, wait until it answers queries over the backfilled
    range, yield its base URL, stop it (terminate, then kill after a deadline).

    Blocks are written straight into `--storage.tsdb.path`; Prometheus loads them at start. The
    retention is 30 days (it counts back from the newest block), so data 8 days old stays.
    """
    if not traffic:
        raise ValueError("no traffic to backfill")
    data = tmp / "data"
    _create_blocks(tmp / "backfill.om", data, openmetrics(traffic, step))
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n")
    url = f"http://{HOST}:{_free_port()}"
    proc = _start(config, data, url, tmp / "prometheus.log")
    try:
        what = f"Prometheus at {url} to serve the backfill"
        wait_for(lambda: _answers(proc, url, _edges(traffic, step)), READY_TIMEOUT, what)
        yield url
    finally:
        _stop(proc)


def _create_blocks(source: Path, data: Path, text: str) -> None:
    source.write_text(text)
    data.mkdir(parents=True, exist_ok=True)
    argv = [str(_promtool()), "tsdb", "create-blocks-from", "openmetrics", "--quiet"]
    argv += [f"--max-block-duration={MAX_BLOCK}", str(source), str(data)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"promtool failed ({done.returncode}): {done.stderr or done.stdout}")


def _promtool() -> Path:
    """promtool beside the Prometheus binary (Debian: /usr/bin), else on PATH."""
    beside = find_binaries().prometheus.with_name("promtool")
    found = beside if beside.is_file() else shutil.which("promtool")
    if not found:
        raise RuntimeError("promtool not found beside Prometheus nor on PATH")
    return Path(found)


def _start(config: Path, data: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    argv = [
        str(find_binaries().prometheus),
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=30d",
        f"--web.listen-address={url.removeprefix('http://')}",
    ]
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


def _edges(traffic: Sequence[Traffic], step: float) -> tuple[float, float]:
    """The first and the last sample's time."""
    return min(tr.start for tr in traffic), max(max(_times(tr, step)) for tr in traffic)


def _answers(proc: subprocess.Popen[bytes], url: str, times: tuple[float, float]) -> bool:
    """Both ends of the backfill are queryable (the blocks are loaded, not just the port open)."""
    if proc.poll() is not None:
        raise RuntimeError(f"Prometheus exited ({proc.returncode}) before serving the backfill")
    try:
        return all(_has_data(url, t) for t in times)
    except httpx.HTTPError:
        return False


def _has_data(url: str, t: float) -> bool:
    params: dict[str, str | float] = {"query": f"count({REQUESTS}_total)", "time": t}
    reply = httpx.get(f"{url}/api/v1/query", params=params, timeout=2)
    return reply.status_code == 200 and bool(reply.json()["data"]["result"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT)
