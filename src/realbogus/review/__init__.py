"""A local web page for reviewing mined label candidates (``realbogus review``).

- ``candidates``: read and check the candidate list and its stamps;
- ``store``: the append-only, fsync'ed decisions file and each reviewer's state in it;
- ``render``: stamps as enlarged PNGs;
- ``server``: the HTTP server (127.0.0.1 only) and its JSON API; the page itself is in
  ``static/``.
"""
