"""Two independent QR readers, each answering the texts it found in an image.

ZXing-C++ is what most Android scanners descend from; ZBar is a separate code base with a
stricter finder, the first to give up on a small or soft code. A card passes only when both read
it: one lucky decoder proves little about the scanners resellers' friends actually use.
"""

from collections.abc import Callable

import zxingcpp
from PIL import Image
from pyzbar import pyzbar


def read_zxing(image: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]


def read_zbar(image: Image.Image) -> list[str]:
    found = pyzbar.decode(image.convert("L"), symbols=[pyzbar.ZBarSymbol.QRCODE])
    # Our links are ASCII: any other byte would be a misread, and should fail the comparison.
    return [symbol.data.decode("utf-8", "replace") for symbol in found]


DECODERS: dict[str, Callable[[Image.Image], list[str]]] = {
    "zxing-cpp": read_zxing,
    "zbar": read_zbar,
}
