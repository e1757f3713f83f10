"""Many people at once: N scripted sessions against one app server; prints one JSON line per N.

    python bench/load.py [--customers 100000] [--sessions 10 25 50] [--rounds 3] [--think-s 1]
                         [--limit-s 300] [--database-url URL]

Starts `streamlit run app.py` on a free loopback port over the bench store (data/bench-<N>.db, seeded by
bench/cockpit.py when missing, or --database-url) and gives the store's demo executive and analyst a known
password. Each simulated session is a websocket client speaking Streamlit's own protocol (the protobuf
messages the browser sends and receives, no browser): it signs in through the sign-in form (its widgets
found in what the server sent, filled and submitted as a browser would), then walks the cockpit, the
customer list and a 360° view `--rounds` times with `--think-s` between pages, as a click in the sidebar
does. A page counts from the request until the server says the script has finished (a rerun the page asks
for counts too), with everything it drew received. Reports p50/p95 per page and overall, failures
(tracebacks, pages not found, time-outs), and the server process's peak and final memory.

This is the server's share of a page; what a browser adds to draw it is `bench/browser.py`'s. Bounded: at
most 60 sessions, loopback only, no new round starts after `--limit-s` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cockpit import bench_store  # noqa: E402

PASSWORD = "load-bench-2026"
USERS = ("executive", "analyst")
MOST_SESSIONS = 60
# page -> its address, its query string, the element that shows it was served
PAGES = {
    "cockpit": ("cockpit", "", "metric"),
    "list": ("customers", "", "dataframe"),
    "customer_360": ("customer", "id={id}", "metric"),
}


def prepare(url: str) -> list[int]:
    """The load users' password, and customers whose 360° views the sessions open."""
    from sqlalchemy import select

    from core import db, models as m
    from core.access import SYSTEM
    from core.security import reset_password

    engine = db.make_engine(url)
    db.migrate(engine)

    def reset(session):  # type: ignore[no-untyped-def]
        for username in USERS:
            reset_password(session, username=username, new=PASSWORD, actor=SYSTEM)

    db.write(engine, reset)
    with engine.connect() as conn:
        ids = list(conn.scalars(select(m.Customer.id).order_by(m.Customer.id).limit(2000)))
    engine.dispose()
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Memory(threading.Thread):
    """Samples the server's resident memory twice a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.last, self.running = pid, 0.0, 0.0, True

    def run(self) -> None:
        while self.running:
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.last = int(line.split()[1]) / 1024
                        self.peak = max(self.peak, self.last)
            except OSError:
                return
            time.sleep(0.5)


def start_server(url: str, log: Path, script: Path = ROOT / "app.py") -> tuple[subprocess.Popen[bytes], str]:
    """`streamlit run` of `script` over the store at `url` on a free loopback port, once it answers."""
    port = _free_port()
    env = {**os.environ, "CRM_DATABASE_URL": url}
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}"
    deadline = time.time() + 600  # a first start may migrate the store
    while True:
        try:
            if urllib.request.urlopen(f"{address}/_stcore/health", timeout=2).status == 200:
                return process, address
        except OSError:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit(f"streamlit did not start; see {log}") from None
            time.sleep(0.5)


class Client:
    """One browser tab as the server sees it: a websocket, the messages of Streamlit's protocol."""

    def __init__(self, ws: Any, timeout_s: float) -> None:
        self.ws, self.timeout_s = ws, timeout_s

    async def run(self, page: str = "", query: str = "", widgets: list[Any] | None = None) -> list[Any]:
        """Ask for a run of `page` and return the elements it drew, once the server says it has finished."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.query_string = query
        message.rerun_script.page_name = page
        message.rerun_script.widget_states.widgets.extend(widgets or [])
        await self.ws.send(message.SerializeToString())
        elements: list[Any] = []
        async with asyncio.timeout(self.timeout_s):
            while True:
                reply = ForwardMsg()
                reply.ParseFromString(await self.ws.recv())
                kind = reply.WhichOneof("type")
                if kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                    elements.append(reply.delta.new_element)
                elif kind == "page_not_found":
                    raise LookupError(page)
                elif kind == "script_finished" and reply.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return elements


def _sign_in_widgets(elements: list[Any], username: str) -> list[Any]:
    """The sign-in form's fields filled in and its button pressed, as the browser reports them."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    states = []
    for element in elements:
        kind = element.WhichOneof("type")
        if kind == "text_input":
            state = WidgetState(id=element.text_input.id)
            state.string_value = PASSWORD if element.text_input.type == element.text_input.PASSWORD else username
            states.append(state)
        elif kind == "button" and element.button.is_form_submitter:
            states.append(WidgetState(id=element.button.id, trigger_value=True))
            break
    if len(states) != 3:
        raise LookupError("the sign-in form")
    return states


def _failed(elements: list[Any], draws: str) -> bool:
    """A traceback, or the page's own content missing (an error message instead, say)."""
    kinds = {e.WhichOneof("type") for e in elements}
    return "exception" in kinds or draws not in kinds


async def _session(address: str, username: str, ids: list[int], args, times, failures, deadline, rng):  # type: ignore[no-untyped-def]
    import websockets

    host = address.removeprefix("http://")
    try:
        ws = await websockets.connect(
            f"ws://{host}/_stcore/stream",
            subprotocols=["streamlit"],
            additional_headers={"Origin": address},
            max_size=None,
        )
    except OSError as error:
        failures.append(f"connect: {type(error).__name__}")
        return
    client = Client(ws, args.timeout_s)
    try:
        started = time.perf_counter()
        form = await client.run()
        shown = await client.run(widgets=_sign_in_widgets(form, username))
        if _failed(shown, "metric"):
            raise LookupError("signed-in landing page")
        times["sign_in"].append(time.perf_counter() - started)
    except Exception as error:  # a refused or lost sign-in is counted, and this session ends
        failures.append(f"sign_in: {type(error).__name__}")
        await ws.close()
        return
    for _ in range(args.rounds):
        if time.time() > deadline:
            break
        for name, (path, query, draws) in PAGES.items():
            await asyncio.sleep(args.think_s * rng.uniform(0.5, 1.5))
            started = time.perf_counter()
            try:
                drawn = await client.run(path, query.format(id=rng.choice(ids)))
            except Exception as error:
                failures.append(f"{name}: {type(error).__name__}")
                continue
            if _failed(drawn, draws):
                failures.append(f"{name}: not drawn")
            times[name].append(time.perf_counter() - started)
    await ws.close()


def _figures(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_s": round(statistics.median(ordered), 2),
        "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
    }


async def _level(address: str, sessions: int, ids: list[int], args, memory: Memory) -> dict[str, object]:  # type: ignore[no-untyped-def]
    times: dict[str, list[float]] = {"sign_in": [], **{name: [] for name in PAGES}}
    failures: list[str] = []
    memory.peak = memory.last
    started = time.perf_counter()
    deadline = time.time() + args.limit_s
    rng = random.Random(sessions)
    await asyncio.gather(
        *(_session(address, USERS[i % len(USERS)], ids, args, times, failures, deadline, rng) for i in range(sessions))
    )
    pages = [t for name in PAGES for t in times[name]]
    return {
        "sessions": sessions,
        "wall_s": round(time.perf_counter() - started, 1),
        "pages": _figures(pages),
        **{name: _figures(values) for name, values in times.items()},
        "failures": len(failures),
        "failure_kinds": sorted(set(failures))[:10],
        "server_peak_rss_mb": round(memory.peak),
        "server_rss_after_mb": round(memory.last),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--sessions", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think-s", type=float, default=1.0, help="a person's pause between pages (0.5-1.5×)")
    parser.add_argument("--limit-s", type=float, default=300.0, help="no new round starts after this")
    parser.add_argument("--timeout-s", type=float, default=180.0, help="one page's longest wait")
    args = parser.parse_args()
    if max(args.sessions) > MOST_SESSIONS or min(args.sessions) < 1:
        raise SystemExit(f"--sessions: 1 to {MOST_SESSIONS}")
    url = bench_store(args.customers, args.database_url)
    ids = prepare(url)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "bench-load-streamlit.log"
    process, address = start_server(url, log)
    memory = Memory(process.pid)
    memory.start()
    try:
        time.sleep(1)
        print(json.dumps({"store": url.rsplit("/", 1)[-1], "server_rss_idle_mb": round(memory.last)}), flush=True)
        for sessions in args.sessions:
            print(json.dumps(asyncio.run(_level(address, sessions, ids, args, memory))), flush=True)
    finally:
        memory.running = False
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
