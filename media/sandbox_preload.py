"""Imported by the sandbox's forkserver only, so that every decoding child starts warm.

Pillow registers its format plugins on the first Image.open that needs them (~75 ms here when
WebP is among the formats), once per process; every child is a new process, so the
forkserver pays it once for all of them. The import itself is the work: this module exists
for nothing else, and nothing else imports it.
"""

from PIL import Image

import media.images  # noqa: F401 - the decoders and their sRGB profile

Image.init()
