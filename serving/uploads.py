"""Uploaded files are parsed in a separate process, never on the server's event loop.

A parse is CPU work in pure-Python libraries (pypdf, python-docx, BeautifulSoup): on the event loop it
freezes every route for every key, and in a thread it still holds the GIL. So ``/index/documents`` hands
the request body to one worker process (spawned, not forked: the server has threads), which reads it
within the operator's upload limits (settings/uploads.py) and returns the documents. A parse past
``upload_parse_seconds``, or one that kills its process, is refused and the process replaced; requests
queue for the one worker, so uploads cannot take more than one core from the server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from langchain_core.documents import Document

from ragloop.errors import InputError
from ragloop.nodes.indexing import documents_from_body
from ragloop.retrieval.documents import Limits

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
#: Starting, feeding and killing the parsing process blocks (fork/exec, semaphores, pipes): done on this
#: thread, never on the event loop; the loop only awaits the parse's future.
_dispatch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragloop-uploads")


def _parser() -> ProcessPoolExecutor:
    """The parsing process, started and its imports done (on the dispatch thread) before any parse is timed."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_outlive_no_server,
                initargs=(os.getpid(),),
            )
            _pool.submit(_warm).result()
        return _pool


def _outlive_no_server(server: int) -> None:
    """In the new parsing process: exit when the server that started it is gone (killed or stopped without
    shutting its pool down), rather than live on as an orphan holding its memory."""

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="ragloop-uploads-watch", daemon=True).start()


def _warm() -> None:
    """In the new parsing process: import what parsing needs, so that a parse's time is its own."""
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import pypdf  # noqa: F401


def _submit(body: bytes, limits: Limits) -> tuple[ProcessPoolExecutor, Future]:
    pool = _parser()
    return pool, pool.submit(documents_from_body, body, limits)


def _replace(pool: ProcessPoolExecutor) -> None:
    """Kill the parsing process (a parse past its time, or a dead worker) and start afresh next time."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


async def parse_upload(body: bytes, limits: Limits, seconds: float) -> list[Document]:
    """The documents of an /index/documents body, parsed in the worker process; InputError says why not."""
    loop = asyncio.get_running_loop()
    pool, future = await loop.run_in_executor(_dispatch, _submit, body, limits)
    try:
        return await asyncio.wait_for(asyncio.wrap_future(future), seconds)
    except TimeoutError:
        await loop.run_in_executor(_dispatch, _replace, pool)
        raise InputError(
            f"Reading the files of this request took longer than {seconds:g} s (upload_parse_seconds); "
            "send smaller files or fewer at once."
        ) from None
    except BrokenProcessPool:
        await loop.run_in_executor(_dispatch, _replace, pool)
        raise InputError("A file of this request could not be read: its parser ran out of memory or crashed.") from None
