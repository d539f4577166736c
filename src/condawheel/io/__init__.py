"""The lower layer: reading JSON documents, files, wheels and HTTP, shared by every command.

Every module above this package reads and writes through it, so that each of these small
jobs (a bounded JSON parse, an atomic write, a chunked hash, a wheel's members, a download)
is done, checked and translated into :mod:`condawheel.errors` in exactly one place.
"""
