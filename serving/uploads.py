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
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from langchain_core.documents import Document

from ragloop.errors import InputError
from ragloop.nodes.indexing import documents_from_body
from ragloop.retrieval.documents import Limits

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


async def _parser() -> ProcessPoolExecutor:
    """The parsing process, started (imports done) before any parse is timed."""
    global _pool
    with _pool_lock:
        pool, fresh = _pool, _pool is None
        if pool is None:
            pool = _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    if fresh:
        await asyncio.get_running_loop().run_in_executor(pool, _warm)
    return pool


def _warm() -> None:
    """In the new parsing process: import what parsing needs, so that a parse's time is its own."""
    import bs4  # noqa: F401
    import docx  # noqa: F401
    import pypdf  # noqa: F401


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
    pool = await _parser()
    try:
        future = asyncio.get_running_loop().run_in_executor(pool, documents_from_body, body, limits)
        return await asyncio.wait_for(future, seconds)
    except TimeoutError:
        _replace(pool)
        raise InputError(
            f"Reading the files of this request took longer than {seconds:g} s (upload_parse_seconds); "
            "send smaller files or fewer at once."
        ) from None
    except BrokenProcessPool:
        _replace(pool)
        raise InputError("A file of this request could not be read: its parser ran out of memory or crashed.") from None
