"""Operations: backup and restore of a whole machidata home, and the upgrade path through them.

A backup is one tar (optionally encrypted with age) holding the metadata database (the engine's own
consistent copy), the lake, uploads and the secret key, with a manifest of every file's SHA-256 and
every version's digest. A restore checks all of it before it touches anything, then migrates the
restored database to this code's schema (that is the upgrade), recovers the lake and proves each
version is byte-identical.
"""
