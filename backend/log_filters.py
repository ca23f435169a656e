"""Logging filters that keep protected values out of process logs.

The ASGI server's access log records each request line; the API takes a CNIC or a name in a few
query strings (``?cnic=``, ``?q=``), so the query string is cut before the line is written.
"""

import logging


class StripQueryString(logging.Filter):
    """Drop everything after ``?`` in uvicorn access-log records (args: client, method, path,
    http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (*args[:2], path, *args[3:])
        return True
