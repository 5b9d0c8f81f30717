"""Word packages built byte by byte for the security tests and the bench: zip bombs and very long documents."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

MIB = 1024 * 1024
_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
         b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
_TAIL = b"</w:body></w:document>"
_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
          'officedocument.wordprocessingml.document.main+xml"/></Types>')


_LETTERS = bytes.maketrans(bytes(range(256)), (b"abcdefghijklmnopqrstuvwxyz     " * 9)[:256])


def word_package(path: Path, *, expanded: int, paragraph_bytes: int = MIB, varied: bool = False,
                 text: bytes | None = None) -> Path:
    """Write a .docx whose document.xml expands to at least `expanded` bytes of text in paragraphs of that size.

    The text is one letter repeated (a zip bomb: it compresses a thousand times over), `varied` letters and
    spaces that compress less than prose does, or the `text` given, as every paragraph.
    """
    if text is None:
        text = random.Random(1).randbytes(paragraph_bytes).translate(_LETTERS) if varied else b"a" * paragraph_bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    paragraph = b"<w:p><w:r><w:t>" + text + b"</w:t></w:r></w:p>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1 if varied else 9) as package:
        package.writestr("[Content_Types].xml", _TYPES)
        with package.open("word/document.xml", "w", force_zip64=True) as stream:
            stream.write(_HEAD)
            for _ in range(-(-expanded // len(paragraph))):
                stream.write(paragraph)
            stream.write(_TAIL)
    return path
