"""asyncssh, imported once for the SFTP client (sftp.py) and the SFTP stand-in.

cryptography 51 deprecates DSA, and asyncssh (2.24) still names DSA keys at import: a
`CryptographyDeprecationWarning` on every start that only asyncssh can drop, so it is
silenced here, for that import only.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="DSA is deprecated", category=UserWarning)
    import asyncssh

__all__ = ["asyncssh"]
